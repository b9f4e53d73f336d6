// The envelope view of a volume (`ebsim explain`, the console): each link from the CMK to the image.
export { envelopeContext, explainVolume, type BrokenLink, type Envelope, type EnvelopeContext, type ExplainOptions, type LinkName, type TrailRef } from './envelope.js';
export { renderEnvelope } from './render.js';
export { summarizePolicy } from './policy-summary.js';
