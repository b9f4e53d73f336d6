import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildRecord, recordJson } from '../../src/trail/record.js';
import type { CallContext } from '../../src/iam/principal.js';

const ctx: CallContext = {
  principal: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/Alice', principalId: 'AIDAEXAMPLE', accountId: '123456789012', accessKeyId: 'AKIAEXAMPLE', name: 'Alice', sessionCreationDate: '2026-01-01T00:00:00Z' },
  region: 'us-east-1',
  sourceIPAddress: '127.0.0.1',
  userAgent: 'test',
};

describe('recordJson', () => {
  it('is exactly JSON.stringify of the record, for any parameters, errors and resources', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.option(fc.record({ code: fc.string(), message: fc.string() }), { nil: undefined }), fc.boolean(), (params, error, ro) => {
        const r = buildRecord(ctx, { eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', requestParameters: params, responseElements: null, readOnly: ro, resources: [{ ARN: 'arn:x', accountId: '1' }], error });
        expect(recordJson(r)).toBe(JSON.stringify(r));
      }),
      { numRuns: 500 },
    );
  });
});
