// What can go wrong with $EBSIM_HOME itself (not an AWS error): a full disk, a database that
// is not one, a missing or wrong root key, bad command-line usage. Each message says what is
// wrong and what to do; the CLI prints it in one sentence, without a stack trace.
import { UserError } from './aws-error.js';

/** Bad usage of the command line (exit 252, as the AWS CLI's parameter errors). */
export class UsageError extends UserError {
  readonly usage = true;
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** SQLITE_FULL, or ENOSPC on a file under the home: nothing more can be written there. */
export class HomeDiskFullError extends UserError {
  constructor(readonly home: string, options?: { cause?: unknown }) {
    super(`no space left on the device holding $EBSIM_HOME (${home}): free some space there and try again`);
    this.name = 'HomeDiskFullError';
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** A read or write of the home's files failed for another reason than space (SQLITE_IOERR). */
export class HomeIOError extends UserError {
  constructor(readonly home: string, detail: string) {
    super(`disk I/O error on the device holding $EBSIM_HOME (${home}): ${detail}; check the file system (dmesg) and try again`);
    this.name = 'HomeIOError';
  }
}

/** ebsim.db or trail.db is not an SQLite database, or SQLite found it damaged. */
export class CorruptDatabaseError extends UserError {
  constructor(readonly path: string, detail: string) {
    super(`the database ${path} is damaged or not an ebsim database (${detail}): restore it from a backup, or move the home aside and run \`ebsim init\``);
    this.name = 'CorruptDatabaseError';
  }
}

/** root.key is gone from a home whose keys were wrapped under it: a new one could open none of them. */
export class MissingRootKeyError extends UserError {
  constructor(readonly path: string, keyCount: number) {
    super(`the root key ${path} is missing, and this home holds ${keyCount} KMS key version(s) wrapped under it: restore root.key from a backup (ebsim does not create a new one, which could open none of them)`);
    this.name = 'MissingRootKeyError';
  }
}

/** root.key exists but is not the key a CMK's material was wrapped under (replaced, or damaged). */
export class RootKeyMismatchError extends UserError {
  constructor(readonly path: string, label: string) {
    super(`the root key ${path} cannot unwrap the key material of ${label}: it is not the root key this home's keys were made under; restore the original root.key`);
    this.name = 'RootKeyMismatchError';
  }
}
