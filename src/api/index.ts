// The shape of every AWS call in ebsim.
//
// - A service's domain declares its operations (`OperationDeclaration`, one file per operation or
//   small family; `declareOperation` infers `run`'s input type from the members): name,
//   description, readOnly, input `Members` (kind, required, min/max, pattern, enum, secret, doc;
//   `check` for a domain's own rule), a domain extension `ext`, and `run(ctx, input, call)`
//   returning `{ response, responseElements }`. `call.env` carries the domain's stores;
//   `call.resources` collects the trail's resources as the operation goes. An operation may log
//   its own requestParameters shape (`requestParameters`) and go on after it is recorded
//   (`Outcome.continuation`).
// - `ServiceDeclaration` groups them with the eventSource and the service's error answers;
//   `serviceMembers` is every member of a service (the wire's types, redaction of misplaced members).
// - `Invoker` is the one path a call takes: refresh the read caches, validate the input against
//   the declaration, run due lifecycle work (`runDueWork`, recorded as service events), run,
//   and record the call once through the `Recorder`, success or failure.
// - `Recorder` is the one writer of trail records: `call` for API calls, `serviceEvent` for
//   AwsServiceEvent records; `requestParametersOf` is the redaction every record uses. The
//   records' shapes are the trail's (trail/record.ts).
// - The CLI's flags, the wire's blob decoding and the trail's redaction are derived from the
//   same `Members`.
export * from './members.js';
export * from './operation.js';
export * from './recorder.js';
export * from './invoke.js';
