// SigV4's pieces against AWS's own worked example, and a signed request against the signature
// its parts give by the specification's steps.
import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { canonicalRequest, hexSha256, signature, signingKey, signRequest, stringToSign } from '../../src/server/sigv4.js';

// "Examples of the complete Signature Version 4 signing process" (AWS General Reference): IAM
// ListUsers, signed on 2015-08-30 with AWS's example secret key.
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const EXAMPLE = {
  method: 'GET',
  url: '/?Action=ListUsers&Version=2010-05-08',
  headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', host: 'iam.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
  body: new Uint8Array(0),
};

describe('SigV4', () => {
  it("reproduces AWS's worked example: signing key and signature", () => {
    const key = signingKey(SECRET, '20150830', 'us-east-1', 'iam');
    expect(Buffer.from(key).toString('hex')).toBe('c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9');
    const canonical = canonicalRequest(EXAMPLE, ['content-type', 'host', 'x-amz-date'], hexSha256(EXAMPLE.body));
    const toSign = stringToSign('20150830T123600Z', '20150830/us-east-1/iam/aws4_request', canonical);
    expect(signature(key, toSign)).toBe('5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7');
  });

  it('a request signed by signRequest carries the signature its parts give', () => {
    const body = Buffer.from('{"KeyId":"alias/x"}');
    const headers = { host: '127.0.0.1:4599', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.DescribeKey' };
    const date = new Date(Date.UTC(2026, 10, 30, 1, 2, 3));
    const added = signRequest({ method: 'POST', url: '/', headers, body }, { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET }, { region: 'eu-west-1', service: 'kms', date });
    const all = { ...headers, ...added };
    const signed = ['content-type', 'host', 'x-amz-date', 'x-amz-target'];
    const canonical = canonicalRequest({ method: 'POST', url: '/', headers: all, body }, signed, hexSha256(body));
    const toSign = stringToSign('20261130T010203Z', '20261130/eu-west-1/kms/aws4_request', canonical);
    const key = ['20261130', 'eu-west-1', 'kms', 'aws4_request'].reduce<Buffer>((k, part) => createHmac('sha256', k).update(part).digest(), Buffer.from(`AWS4${SECRET}`));
    expect(added.authorization).toBe(`AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/eu-west-1/kms/aws4_request, SignedHeaders=${signed.join(';')}, Signature=${createHmac('sha256', key).update(toSign).digest('hex')}`);
  });
});
