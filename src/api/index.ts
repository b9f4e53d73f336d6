// The shape of every AWS call in ebsim.
//
// - A service's domain declares its operations (`OperationDeclaration`, one file per operation or
//   small family): name, description, readOnly, input `Members` (kind, required, bounds, enum,
//   pattern, secret, doc; `check` for a domain's own rule), a domain extension `ext`, and
//   `run(ctx, input, call)` returning `{ response, responseElements }`. `call.env` carries the
//   domain's stores; `call.resources` collects the trail's resources as the operation goes.
// - `ServiceDeclaration` groups them with the eventSource and the service's error answers.
// - `Invoker` is the one path a call takes: refresh the read caches, validate the input against
//   the declaration, run due lifecycle work (`runDueWork`, recorded as service events), run,
//   and record the call once through the `Recorder`, success or failure.
// - `Recorder` is the one writer of trail records: `call` for API calls (also usable by a
//   service whose call is not declared yet), `serviceEvent` for AwsServiceEvent records.
//   `requestParametersOf` is the redaction every record uses.
// - The CLI's flags, the wire's blob decoding and the trail's redaction are derived from the
//   same `Members`.
export * from './members.js';
export * from './operation.js';
export * from './recorder.js';
export * from './invoke.js';
