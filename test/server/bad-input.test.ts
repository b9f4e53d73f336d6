// A hostile or careless client's requests that the AWS CLI would never send, each answered with
// the error AWS documents for it: never a 500, never an answer that ignores what was asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/server/index.js';
import { aliceCredentials, CLOUDTRAIL, inProcess, KMS, newHome, raw, removeHome, storeSnapshot } from './helpers.js';

let home: string;
let server: RunningServer;
let alice: ReturnType<typeof aliceCredentials>;

beforeAll(async () => {
  home = newHome('ebsim-bad-input-');
  server = await inProcess(home);
  alice = aliceCredentials(home);
});
afterAll(async () => {
  await server?.close();
  if (home) removeHome(home);
});

const send = (target: string, body: string | Buffer) => raw(server.url, target, body, { creds: alice });
const errorOf = async (target: string, body: string | Buffer) => {
  const r = await send(target, body);
  return { status: r.status, type: r.json().__type as string, message: r.json().message as string };
};

describe('null items in lists', () => {
  // Found by the h21 sweep: a null list item passed validation as "absent" and crashed the
  // operation (500 InternalFailure; a stack trace from the CLI).
  it('a null tag or lookup attribute is a ValidationException naming the item, and changes nothing', async () => {
    const keyId = (await send(`${KMS}CreateKey`, '{}')).json().KeyMetadata.KeyId as string;
    const before = storeSnapshot(home);
    const cases: [string, string, string][] = [
      [`${KMS}CreateKey`, '{"Tags":[null]}', "Value 'null' at 'tags.1.member' failed to satisfy constraint: Member must not be null"],
      [`${KMS}TagResource`, `{"KeyId":"${keyId}","Tags":[{"TagKey":"a","TagValue":"b"},null]}`, "Value 'null' at 'tags.2.member' failed to satisfy constraint: Member must not be null"],
      [`${CLOUDTRAIL}LookupEvents`, '{"LookupAttributes":[null]}', "Value 'null' at 'lookupAttributes.1.member' failed to satisfy constraint: Member must not be null"],
    ];
    for (const [target, body, message] of cases) {
      expect(await errorOf(target, body), body).toEqual({ status: 400, type: 'ValidationException', message: `1 validation error detected: ${message}` });
    }
    expect(storeSnapshot(home)).toBe(before);
  });
});

describe('a Recipient (Nitro Enclaves attestation)', () => {
  // AWS encrypts the bytes to the enclave's key and returns no Plaintext; ebsim cannot, so it must
  // refuse rather than hand the bytes back in the clear.
  it('is refused as on DeriveSharedSecret and GenerateDataKeyPair, with no bytes in the answer', async () => {
    for (const recipient of ['{}', '{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256","AttestationDocument":"AAAA"}']) {
      const r = await send(`${KMS}GenerateRandom`, `{"NumberOfBytes":8,"Recipient":${recipient}}`);
      expect(r.status).toBe(400);
      expect(r.json()).toEqual({ __type: 'UnsupportedOperationException', message: expect.stringContaining('GenerateRandom with a Recipient is not supported') });
    }
  });

  // These two once answered "Unknown parameter 'Recipient'", as if AWS had no such member.
  it('is refused on Decrypt and GenerateDataKey in the same words, after the key checks, with no plaintext', async () => {
    const keyId = (await send(`${KMS}CreateKey`, '{}')).json().KeyMetadata.KeyId as string;
    const blob = (await send(`${KMS}Encrypt`, `{"KeyId":"${keyId}","Plaintext":"aGk="}`)).json().CiphertextBlob as string;
    const recipient = '"Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256","AttestationDocument":"AAAA"}';
    for (const [op, body] of [['Decrypt', `{"CiphertextBlob":"${blob}",${recipient}}`], ['GenerateDataKey', `{"KeyId":"${keyId}","KeySpec":"AES_256",${recipient}}`]] as const) {
      const r = await send(`${KMS}${op}`, body);
      expect(r.status, op).toBe(400);
      expect(r.json()).toEqual({ __type: 'UnsupportedOperationException', message: `${op} with a Recipient is not supported: ebsim does not model Nitro Enclaves or NitroTPM attestation.` });
    }
    // The key checks come first: a key that does not exist is still NotFoundException.
    expect((await errorOf(`${KMS}GenerateDataKey`, `{"KeyId":"alias/none","KeySpec":"AES_256",${recipient}}`)).type).toBe('NotFoundException');
  });
});

describe('bodies that are not UTF-8', () => {
  // JSON text is UTF-8 (RFC 8259 §8.1); AWS's JSON parser refuses other bytes. Decoding them to
  // U+FFFD would make different encryption contexts authenticate the same bytes.
  it('are a SerializationException, whichever member holds the bytes', async () => {
    const keyId = (await send(`${KMS}CreateKey`, '{}')).json().KeyMetadata.KeyId as string;
    const bodies = [
      Buffer.concat([Buffer.from(`{"KeyId":"${keyId}","Plaintext":"aGk=","EncryptionContext":{"a":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]),
      Buffer.concat([Buffer.from('{"KeyId":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      Buffer.concat([Buffer.from('{"KeyId":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), // a UTF-16 surrogate encoded as UTF-8
    ];
    for (const body of bodies) {
      const e = await errorOf(`${KMS}Encrypt`, body);
      expect(e, body.toString('hex')).toMatchObject({ status: 400, type: 'SerializationException' });
    }
    // Valid UTF-8 beyond ASCII still works.
    expect((await send(`${KMS}Encrypt`, `{"KeyId":"${keyId}","Plaintext":"aGk=","EncryptionContext":{"clé":"☃ 𝄞"}}`)).status).toBe(200);
  });
});

describe('LookupEvents refusals in CloudTrail\'s own error names', () => {
  // The API reference's errors for LookupEvents: InvalidLookupAttributesException,
  // InvalidTimeRangeException, InvalidMaxResultsException, InvalidNextTokenException.
  it('names each refusal as the API reference does', async () => {
    const cases: [string, string][] = [
      ['{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"a"},{"AttributeKey":"Username","AttributeValue":"b"}]}', 'InvalidLookupAttributesException'],
      ['{"LookupAttributes":[{"AttributeKey":"ReadOnly","AttributeValue":"maybe"}]}', 'InvalidLookupAttributesException'],
      ['{"StartTime":1800000000,"EndTime":1700000000}', 'InvalidTimeRangeException'],
      ['{"MaxResults":0}', 'InvalidMaxResultsException'],
      ['{"MaxResults":51}', 'InvalidMaxResultsException'],
      ['{"NextToken":"garbage"}', 'InvalidNextTokenException'],
      ['{"NextToken":""}', 'InvalidNextTokenException'],
      // Tokens never handed out, that Number() once read as positions.
      ...['0x10', ' 12', '1e3', '12.0', '012', '-1'].map((t) => [`{"NextToken":"${Buffer.from(t).toString('base64url')}"}`, 'InvalidNextTokenException'] as [string, string]),
    ];
    for (const [body, type] of cases) expect((await errorOf(`${CLOUDTRAIL}LookupEvents`, body)).type, body).toBe(type);
  });

  it('a NextToken it handed out still pages', async () => {
    for (let i = 0; i < 3; i++) await send(`${KMS}ListKeys`, '{}');
    server.app.trail.flush();
    const first = (await send(`${CLOUDTRAIL}LookupEvents`, '{"MaxResults":1}')).json();
    expect(first.NextToken).toEqual(expect.any(String));
    const second = (await send(`${CLOUDTRAIL}LookupEvents`, JSON.stringify({ MaxResults: 1, NextToken: first.NextToken }))).json();
    expect(second.Events).toHaveLength(1);
    expect(second.Events[0].EventId).not.toBe(first.Events[0].EventId);
  });

  it('EventCategory insight finds no events: ebsim records management events only', async () => {
    await send(`${KMS}ListKeys`, '{}');
    server.app.trail.flush();
    expect((await send(`${CLOUDTRAIL}LookupEvents`, '{}')).json().Events.length).toBeGreaterThan(0);
    expect((await send(`${CLOUDTRAIL}LookupEvents`, '{"EventCategory":"insight"}')).json()).toEqual({ Events: [] });
  });

  it('any other EventCategory is InvalidEventCategoryException, as the API reference lists it', async () => {
    for (const category of ['"Insight"', '"management"', '""']) {
      const r = await send(`${CLOUDTRAIL}LookupEvents`, `{"EventCategory":${category}}`);
      expect({ category, status: r.status, type: r.json().__type }).toEqual({ category, status: 400, type: 'InvalidEventCategoryException' });
    }
  });
});
