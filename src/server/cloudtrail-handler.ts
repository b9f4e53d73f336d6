// `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`: the JSON
// body decoded and handed to CloudTrail's one invoke path, which validates and records it.
import type { Ebsim } from '../app/ebsim.js';
import type { CallContext } from '../core/call-context.js';
import { decodeBody } from './json-protocol.js';

export const CLOUDTRAIL_TARGET_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.';
/** The SDK for JavaScript v3 sends the short form of the same target. */
export const CLOUDTRAIL_SHORT_PREFIX = 'CloudTrail_20131101.';

export function handleCloudTrail(app: Ebsim, ctx: CallContext, operation: string, body: Uint8Array): Record<string, unknown> {
  return app.cloudtrail().call(ctx, operation, decodeBody(body));
}
