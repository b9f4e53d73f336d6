// The policy domain: parse policy documents and evaluate requests against them as AWS does.
// Pure: no store, no service. The services map PolicySyntaxError to their own AWS error.
export type * from './types.js';
export { PolicySyntaxError } from './errors.js';
export { parsePolicy } from './parse.js';
export { parsedPolicy } from './cache.js';
export { evaluate, type EvaluateOptions, type PolicySources } from './evaluate.js';
export { accessDeniedMessage } from './message.js';
export { formatExplanation } from './explain.js';
export { globalConditionKeys } from './global-keys.js';
export { LazyConditionKeys } from './lazy-keys.js';
export { callerOf, evaluateCall, explainCall } from './call.js';
