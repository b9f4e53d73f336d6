// SigV4 refusals, the accept-any flag, and bad input of every kind: the server answers with
// AWS's error, stays up, and changes nothing but the trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { Agent } from 'node:http';
import fc from 'fast-check';
import type { RunningServer } from '../../src/server/index.js';
import { KmsService } from '../../src/kms/service.js';
import { aliceCredentials, CLOUDTRAIL, inProcess, KMS, newHome, raw, removeHome, storeSnapshot, trailRecords } from './helpers.js';

let home: string;
let server: RunningServer;
let alice: ReturnType<typeof aliceCredentials>;

beforeAll(async () => {
  home = newHome();
  server = await inProcess(home, { requestTimeoutMs: 1500, headersTimeoutMs: 1000 });
  alice = aliceCredentials(home);
});
afterAll(async () => {
  await server?.close();
  if (home) removeHome(home);
});

const errorOf = async (p: ReturnType<typeof raw>) => {
  const r = await p;
  return { status: r.status, type: r.json().__type as string, message: r.json().message as string, requestId: r.headers['x-amzn-requestid'] };
};

describe('SigV4', () => {
  it('a correctly signed request works, and its answer carries JSON 1.1 headers', async () => {
    const r = await raw(server.url, `${KMS}GenerateRandom`, '{"NumberOfBytes":8}', { creds: alice });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(r.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Buffer.from(r.json().Plaintext, 'base64')).toHaveLength(8);
  });

  it('unknown access key → UnrecognizedClientException', async () => {
    const e = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' } }));
    expect(e).toMatchObject({ status: 400, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
  });

  it('wrong secret → InvalidSignatureException with AWS\'s message', async () => {
    const e = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: { ...alice, secretAccessKey: alice.secretAccessKey.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) } }));
    expect(e.status).toBe(400);
    expect(e.type).toBe('InvalidSignatureException');
    expect(e.message).toBe('The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  });

  it('a body changed after signing → InvalidSignatureException', async () => {
    const e = await errorOf(raw(server.url, `${KMS}GenerateRandom`, '{"NumberOfBytes":8}', { creds: alice, headers: { 'x-amz-target': `${KMS}ListKeys` } }));
    expect(e.type).toBe('InvalidSignatureException');
  });

  it('a request dated 20 minutes off → Signature expired / not yet current', async () => {
    const past = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, date: new Date(Date.now() - 20 * 60_000) }));
    expect(past.type).toBe('InvalidSignatureException');
    expect(past.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
    const future = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, date: new Date(Date.now() + 20 * 60_000) }));
    expect(future.message).toMatch(/^Signature not yet current: \d{8}T\d{6}Z is still later than/);
    // Within 15 minutes is fine.
    expect((await raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, date: new Date(Date.now() - 10 * 60_000) })).status).toBe(200);
  });

  it('missing or garbled Authorization → MissingAuthenticationToken / IncompleteSignature', async () => {
    expect(await errorOf(raw(server.url, `${KMS}ListKeys`, '{}'))).toMatchObject({ status: 400, type: 'MissingAuthenticationTokenException' });
    for (const auth of ['AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/kms/aws4_request', 'Basic dXNlcjpwYXNz', 'AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, Signature=00', '\u00ff\u00fe garbage', 'AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=' + '0'.repeat(64)]) {
      const e = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, headers: { authorization: auth } }));
      expect(e.type, auth).toBe('IncompleteSignatureException');
    }
    const noDate = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, headers: { 'x-amz-date': undefined } }));
    expect(noDate.type).toBe('IncompleteSignatureException');
    const badDate = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, headers: { 'x-amz-date': 'yesterday' } }));
    expect(badDate.type).toBe('IncompleteSignatureException');
  });

  it('the credential scope must name the service', async () => {
    const e = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, service: 's3' }));
    expect(e).toMatchObject({ type: 'InvalidSignatureException', message: "Credential should be scoped to correct service: 'kms'. " });
  });

  it('the credential scope must name a commercial Region (any of them: the endpoint serves them all)', async () => {
    for (const region of ['cn-north-1', 'us-gov-west-1', 'mars-north-1']) {
      const e = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, region }));
      expect(e).toMatchObject({ status: 400, type: 'InvalidSignatureException', message: `Credential should be scoped to a valid region, not '${region}'. ` });
    }
    expect((await raw(server.url, `${KMS}ListAliases`, '{}', { creds: alice, region: 'eu-west-1' })).status).toBe(200);
  });

  it('X-Amz-Target, Content-Type and every other x-amz-* header must be signed', async () => {
    const before = storeSnapshot(home);
    // The replay: a signature over host;x-amz-date only, resent with another target.
    const replay = await errorOf(raw(server.url, `${KMS}CreateKey`, '{}', { creds: alice, unsigned: ['x-amz-target', 'content-type'] }));
    expect(replay).toMatchObject({
      status: 400,
      type: 'InvalidSignatureException',
      message: 'There were headers present in the request which were not signed. HeadersNotSigned: content-type, x-amz-target',
    });
    const target = await errorOf(raw(server.url, `${KMS}CreateKey`, '{}', { creds: alice, unsigned: ['x-amz-target'] }));
    expect(target.message).toMatch(/HeadersNotSigned: x-amz-target$/);
    const extra = await errorOf(raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice, headers: { 'x-amz-anything': 'added later' } }));
    expect(extra.message).toMatch(/HeadersNotSigned: x-amz-anything$/);
    expect(storeSnapshot(home)).toBe(before);
  });

  it('none of the refused requests reached the trail', async () => {
    server.app.trail.flush(); // every record of the calls above committed (the server group-commits them)
    expect(trailRecords(home).filter((r) => r.eventName === 'ListKeys')).toHaveLength(1); // the one within 15 minutes
  });
});

describe('--accept-any-credentials', () => {
  it('maps test/test to Alice without checking the signature; known keys are still verified', async () => {
    const lax = await inProcess(home, { acceptAnyCredentials: true });
    try {
      const r = await raw(lax.url, `${KMS}GenerateRandom`, '{"NumberOfBytes":4}', { creds: { accessKeyId: 'test', secretAccessKey: 'test' }, userAgent: 'localstack-style' });
      expect(r.status).toBe(200);
      const bad = await errorOf(raw(lax.url, `${KMS}ListKeys`, '{}', { creds: { ...alice, secretAccessKey: 'wrong' } }));
      expect(bad.type).toBe('InvalidSignatureException');
      expect((await errorOf(raw(lax.url, `${KMS}ListKeys`, '{}'))).type).toBe('MissingAuthenticationTokenException');
    } finally {
      await lax.close();
    }
    const rec = trailRecords(home, 'GenerateRandom').find((x) => x.userAgent === 'localstack-style')!;
    expect(rec.userIdentity).toMatchObject({ type: 'IAMUser', userName: 'Alice', arn: 'arn:aws:iam::123456789012:user/Alice', accessKeyId: 'test' });
    // Off by default: the strict server refuses the same request.
    expect((await errorOf(raw(server.url, `${KMS}GenerateRandom`, '{"NumberOfBytes":4}', { creds: { accessKeyId: 'test', secretAccessKey: 'test' } }))).type).toBe('UnrecognizedClientException');
  });

  it('--as-user must name an existing IAM user', async () => {
    await expect(inProcess(home, { acceptAnyCredentials: true, asUser: 'Nobody' })).rejects.toMatchObject({ code: 'NoSuchEntity' });
    await expect(inProcess(home, { asUser: 'Alice' })).rejects.toThrow(/only applies with --accept-any-credentials/);
  });
});

describe('bad input', () => {
  it('malformed JSON and wrong types → SerializationException; out-of-range values and unknown members → ValidationException; unknown op → UnknownOperationException', async () => {
    for (const body of ['{', '{"KeyId":', 'null', '[]', '"x"', '42', '{"a":1}}', '\u0000\u0001']) {
      const e = await errorOf(raw(server.url, `${KMS}DescribeKey`, body, { creds: alice }));
      expect(e, body).toMatchObject({ status: 400, type: 'SerializationException' });
    }
    expect((await errorOf(raw(server.url, `${KMS}Decrypt`, '{"CiphertextBlob":"not base64!"}', { creds: alice }))).type).toBe('SerializationException');
    // A member of the wrong JSON type cannot be deserialized: AWS's front end answers
    // SerializationException before KMS sees the request.
    const wrongTypes: [string, string, string][] = [
      ['DescribeKey', '{"KeyId":42}', 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
      ['DescribeKey', '{"KeyId":true}', 'class java.lang.Boolean can not be converted to an String'],
      ['DescribeKey', '{"KeyId":{"a":1}}', 'Start of structure or map found where not expected.'],
      ['DescribeKey', '{"KeyId":["a"]}', 'Start of list found where not expected.'],
      ['GenerateRandom', '{"NumberOfBytes":"8"}', 'STRING_VALUE can not be converted to an Integer'],
      ['Decrypt', '{"CiphertextBlob":12}', 'NUMBER_VALUE can not be converted to a Blob'],
      ['Encrypt', '{"KeyId":"alias/aws/ebs","Plaintext":"aGk=","EncryptionContext":"x"}', 'STRING_VALUE can not be converted to a Map'],
      ['Encrypt', '{"KeyId":"alias/aws/ebs","Plaintext":"aGk=","EncryptionContext":{"a":1}}', 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
      ['Encrypt', '{"KeyId":"alias/aws/ebs","Plaintext":"aGk=","EncryptionContext":{"a":{"b":"c"}}}', 'Start of structure or map found where not expected.'],
      ['CreateGrant', '{"KeyId":"k","GranteePrincipal":"p","Operations":"Decrypt"}', 'STRING_VALUE can not be converted to a List'],
      ['CreateGrant', '{"KeyId":"k","GranteePrincipal":"p","Operations":["Decrypt"],"Constraints":{"EncryptionContextSubset":{"a":[1]}}}', 'Start of list found where not expected.'],
      ['CreateGrant', '{"KeyId":"k","GranteePrincipal":"p","Operations":["Decrypt"],"Constraints":"x"}', 'STRING_VALUE can not be converted to a Structure'],
      ['EnableKeyRotation', '{"KeyId":"k","RotationPeriodInDays":"90"}', 'STRING_VALUE can not be converted to an Integer'],
      ['CreateKey', '{"MultiRegion":"yes"}', 'STRING_VALUE can not be converted to a Boolean'],
      ['CreateKey', '{"Tags":[{"TagKey":"a","TagValue":5}]}', 'class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String'],
    ];
    for (const [op, body, message] of wrongTypes) {
      expect(await errorOf(raw(server.url, `${KMS}${op}`, body, { creds: alice })), `${op} ${body}`).toMatchObject({ status: 400, type: 'SerializationException', message });
    }
    // Well typed but not valid, or unknown: the domain's checks, the same as the CLI's.
    for (const [op, body] of [['GenerateRandom', '{"NumberOfBytes":1.5}'], ['ListKeys', '{"Unknown":1}'], ['Encrypt', '{"KeyId":"alias/aws/ebs","Plaintext":"aGk=","EncryptionContext":{"a":null}}']]) {
      expect((await errorOf(raw(server.url, `${KMS}${op}`, body, { creds: alice }))).type, `${op} ${body}`).toBe('ValidationException');
    }
    const outOfRange: [string, string][] = [
      ['GenerateRandom', '{"NumberOfBytes":0}'],
      ['GenerateRandom', '{"NumberOfBytes":1025}'],
      ['GenerateRandom', '{"NumberOfBytes":1e300}'],
      ['ScheduleKeyDeletion', '{"KeyId":"k","PendingWindowInDays":3}'],
      ['ListKeys', '{"Limit":0}'],
      ['ListKeys', '{"Limit":1001}'],
      ['Encrypt', `{"KeyId":"alias/aws/ebs","Plaintext":"${Buffer.alloc(4097).toString('base64')}"}`],
      ['DescribeKey', `{"KeyId":"${'k'.repeat(2049)}"}`],
      ['DescribeKey', '{"KeyId":""}'],
    ];
    for (const [op, body] of outOfRange) {
      expect((await errorOf(raw(server.url, `${KMS}${op}`, body, { creds: alice }))).type, `${op} ${body.slice(0, 60)}`).toBe('ValidationException');
    }
    for (const target of [`${KMS}DeleteEverything`, 'TrentService.', 'NoSuchService.ListKeys', `${CLOUDTRAIL}CreateTrail`]) {
      expect((await errorOf(raw(server.url, target, '{}', { creds: alice }))).type, target).toBe('UnknownOperationException');
    }
    expect((await errorOf(raw(server.url, undefined, '{}', { creds: alice }))).type).toBe('UnknownOperationException');
    // CloudTrail's own input checks.
    for (const body of ['{"LookupAttributes":"x"}', '{"LookupAttributes":[{"AttributeKey":"Nope","AttributeValue":"v"}]}', '{"StartTime":"soon"}', '{"MaxResults":"5"}', '{"NextToken":5}']) {
      expect((await errorOf(raw(server.url, `${CLOUDTRAIL}LookupEvents`, body, { creds: alice }))).type, body).toBe('ValidationException');
    }
  });

  it('a body over 1 MiB → 413 SerializationException, declared or streamed', async () => {
    const big = Buffer.alloc(1024 * 1024 + 10, 0x20);
    const e = await errorOf(raw(server.url, `${KMS}ListKeys`, big, { creds: alice }));
    expect(e).toMatchObject({ status: 413, type: 'SerializationException' });
    // Chunked, no Content-Length: cut off once past the limit.
    const status = await new Promise<string>((resolve) => {
      const s = connect(Number(new URL(server.url).port), '127.0.0.1', () => {
        s.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.ListKeys\r\nTransfer-Encoding: chunked\r\n\r\n');
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        for (let i = 0; i < 20; i++) s.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`);
      });
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('error', () => resolve(got));
      s.on('close', () => resolve(got));
    });
    expect(status).toMatch(/^HTTP\/1\.1 413/);
  });

  it('half a request then a disconnect, and a client that stalls, do not disturb the server', async () => {
    const port = Number(new URL(server.url).port);
    // Headers promise a body that never fully arrives; the client hangs up.
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: 500\r\n\r\n{"Lim');
        setTimeout(() => s.destroy(), 50);
      });
      s.on('close', () => resolve());
    });
    // Half the headers, then nothing: the server times the request out (408) and closes.
    const stalled = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write('POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Tar'));
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got || '(closed)'));
    });
    expect(stalled).toMatch(/408|closed/);
    // Garbage that is not HTTP at all.
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.end('\x16\x03\x01 hello? \r\n\r\n'));
      s.on('data', () => undefined);
      s.on('close', () => resolve());
      s.on('error', () => resolve());
    });
    expect((await raw(server.url, `${KMS}ListKeys`, '{}', { creds: alice })).status).toBe(200);
  });

  it('fuzz: thousands of random and mutated requests; the server still answers and the store is unchanged apart from the trail', async () => {
    // State the fuzzer could damage if bad input ever got through.
    const arn = (await raw(server.url, `${KMS}CreateKey`, '{"Description":"fuzz target"}', { creds: alice })).json().KeyMetadata.Arn as string;
    await raw(server.url, `${KMS}CreateAlias`, JSON.stringify({ AliasName: 'alias/fuzz', TargetKeyId: arn }), { creds: alice });
    await raw(server.url, `${KMS}CreateGrant`, JSON.stringify({ KeyId: arn, GranteePrincipal: 'arn:aws:iam::123456789012:user/Alice', Operations: ['Decrypt'] }), { creds: alice });
    const blob = (await raw(server.url, `${KMS}Encrypt`, JSON.stringify({ KeyId: arn, Plaintext: 'aGVsbG8=' }), { creds: alice })).json().CiphertextBlob as string;
    const before = storeSnapshot(home);

    // Bases reference keys that do not exist, so a mutation that stays valid still cannot change state;
    // CreateKey (valid with no parameters) is only ever sent unsigned.
    const ops = KmsService.operationNames().filter((o) => o !== 'CreateKey');
    const missingKey = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000';
    const base = (op: string): Record<string, unknown> => ({
      KeyId: missingKey, TargetKeyId: missingKey, AliasName: 'alias/fuzz-missing', DestinationKeyId: missingKey, GranteePrincipal: 'arn:aws:iam::123456789012:user/Alice',
      Operations: ['Decrypt'], CiphertextBlob: op === 'Decrypt' ? blob.slice(0, 20) + 'AAAA' : 'AAAA', Plaintext: 'aGk=', NumberOfBytes: 16, GrantId: 'a'.repeat(64),
      PendingWindowInDays: 7, EncryptionContext: { a: 'b' },
    });
    const jsonValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));
    const mutate = (text: string, seed: number[]): string => {
      const b = Buffer.from(text);
      for (const s of seed) {
        const i = s % Math.max(b.length, 1);
        if (s % 3 === 0) b[i] = s & 0xff;
      }
      return seed[0]! % 5 === 0 ? b.subarray(0, seed[1]! % (b.length + 1)).toString('latin1') : b.toString('latin1');
    };
    // Constraints maps get non-empty keys: an empty one hits the domain bug pinned by the test below.
    const constraintsValue = fc.oneof(
      fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }),
      fc.dictionary(fc.oneof(fc.string({ minLength: 1 }), fc.constantFrom('EncryptionContextSubset', 'EncryptionContextEquals')), fc.oneof(fc.string(), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 })), { maxKeys: 3 }),
    );
    const request = fc.record({
      op: fc.oneof(fc.constantFrom(...ops), fc.string({ maxLength: 20 })),
      member: fc.constantFrom('KeyId', 'CiphertextBlob', 'NumberOfBytes', 'EncryptionContext', 'Operations', 'Limit', 'Marker', 'GrantTokens', 'Junk'),
      value: jsonValue,
      constraints: fc.option(constraintsValue, { nil: undefined }),
      seed: fc.array(fc.nat(), { minLength: 2, maxLength: 6 }),
      kind: fc.integer({ min: 0, max: 9 }),
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const samples = fc.sample(request, { numRuns: 2500, seed: 20240601 });
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let i = 0;
    const worker = async () => {
      while (i < samples.length) {
        const s = samples[i++]!;
        const params = { ...base(s.op), [s.member]: s.value, ...(s.constraints === undefined ? {} : { Constraints: s.constraints }) };
        let body = JSON.stringify(params);
        let target = `${KMS}${s.op}`;
        let creds: typeof alice | undefined = alice;
        let headers: Record<string, string | undefined> | undefined;
        switch (s.kind) {
          case 0: body = mutate(body, s.seed); break; // flipped bytes / truncation
          case 1: body = Buffer.from(s.seed.map((n) => n & 0xff)).toString('latin1'); break; // noise
          case 2: target = `${KMS}CreateKey`; creds = undefined; break; // unsigned state change
          case 3: creds = { ...alice, secretAccessKey: 'x' }; target = `${KMS}CreateKey`; break; // wrong secret
          case 4: headers = { authorization: mutate(`AWS4-HMAC-SHA256 Credential=${alice.accessKeyId}/20240101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00`, s.seed) }; break;
          case 5: target = mutate(target, s.seed); break;
          default: break; // a well-formed request with one member set to a random value
        }
        try {
          const r = await raw(server.url, target, body, { creds, headers, agent });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status >= 500) failures.push(`${target} ${body} → ${r.body}`);
        } catch {
          statuses.set(-1, (statuses.get(-1) ?? 0) + 1); // a header we built was unsendable: the client refused it
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    agent.destroy();
    expect(failures).toEqual([]);
    expect([...statuses.keys()].every((s) => s === -1 || s === 200 || s === 400 || s === 413)).toBe(true);
    expect((await raw(server.url, `${KMS}Decrypt`, JSON.stringify({ CiphertextBlob: blob }), { creds: alice })).json().Plaintext).toBe('aGVsbG8=');
    expect(storeSnapshot(home)).toBe(before);
  }, 180_000);

  // The issue's request: it once got a 500, and its trail record took other callers' with it.
  it('an encryption context nested 50,000 levels deep → 400 SerializationException, and no record', async () => {
    const depth = 50_000;
    const body = `{"KeyId":"alias/aws/ebs","Plaintext":"aGk=","EncryptionContext":${'{"a":'.repeat(depth)}"x"${'}'.repeat(depth)}}`;
    const e = await errorOf(raw(server.url, `${KMS}Encrypt`, body, { creds: alice, userAgent: 'deep-context' }));
    expect(e).toMatchObject({ status: 400, type: 'SerializationException', message: 'Request body is nested more than 16 levels deep.' });
    server.app.trail.flush(); // every record of the calls above committed (the server group-commits them)
    expect(trailRecords(home).filter((r) => r.userAgent === 'deep-context')).toEqual([]);
  });

  // Found by the fuzz test: an empty member name inside Constraints once made the trail's
  // requestParameters builder throw (500, and no record).
  it('an empty member name inside Constraints is a ValidationException, not a 500', async () => {
    const r = await raw(server.url, `${KMS}CreateGrant`, JSON.stringify({ KeyId: 'alias/none', GranteePrincipal: 'arn:aws:iam::123456789012:user/Alice', Operations: ['Decrypt'], Constraints: { '': 'x' } }), { creds: alice });
    expect(r.status).toBe(400);
  });
});
