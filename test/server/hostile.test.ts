// The endpoint under attack while serving: a real `ebsim serve` process takes a stream of hostile
// requests (bodies nested to 50,000 levels, maps of tens of thousands of keys, keys such as
// __proto__ and constructor, headers left out of the signature, scopes naming another Region or
// service) at the same time as a well-behaved client's Decrypts. The server stays up, every
// hostile request gets AWS's error (never a 5xx), and every good request is answered and
// recorded in the trail exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'node:http';
import fc from 'fast-check';
import { aliceCredentials, KMS, newHome, raw, removeHome, spawnServe, trailRecords, type RawOptions } from './helpers.js';

let home: string;
let serve: Awaited<ReturnType<typeof spawnServe>>;
let alice: ReturnType<typeof aliceCredentials>;

beforeAll(async () => {
  home = newHome('ebsim-hostile-');
  serve = await spawnServe(home, ['--quiet']);
  alice = aliceCredentials(home);
});
afterAll(async () => {
  if (serve && serve.child.exitCode === null) await serve.stop();
  if (home) removeHome(home);
});

const SPECIAL_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'] as const;

/** A hostile request, what the server must answer (`status type`) and how many records it leaves. */
interface Attack {
  target: string;
  body: string;
  answer: RegExp;
  recorded: 0 | 1;
}

const nestedValue = (depth: number) => '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth);
const bigMap = (keys: number) => JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 'value'])));

const attack = (keyId: string) =>
  fc.oneof(
    // Nesting deeper than any KMS shape: refused before anything else, whatever the member.
    fc.record({ depth: fc.oneof(fc.constant(50_000), fc.integer({ min: 17, max: 50_000 })), where: fc.constantFrom('EncryptionContext', 'Constraints', 'Junk', 'list') }).map(({ depth, where }): Attack => {
      const value = where === 'list' ? '['.repeat(depth) + ']'.repeat(depth) : nestedValue(depth);
      const body = where === 'Constraints'
        ? `{"KeyId":"${keyId}","GranteePrincipal":"arn:aws:iam::123456789012:user/Alice","Operations":["Decrypt"],"Constraints":{"EncryptionContextSubset":${value}}}`
        : `{"KeyId":"${keyId}","Plaintext":"aGk=","${where === 'list' ? 'GrantTokens' : where}":${value}}`;
      return { target: where === 'Constraints' ? 'CreateGrant' : 'Encrypt', body, answer: /^400 SerializationException$/, recorded: 0 };
    }),
    // Huge but well-typed maps reach the domain, which refuses them by size (and records the call).
    fc.record({ keys: fc.integer({ min: 1_000, max: 20_000 }), op: fc.constantFrom('Encrypt', 'GenerateDataKey', 'CreateGrant') }).map(({ keys, op }): Attack => {
      const map = bigMap(keys);
      const grant = `{"KeyId":"${keyId}","GranteePrincipal":"arn:aws:iam::123456789012:user/Alice","Operations":["Decrypt"],"Constraints":{"EncryptionContextEquals":${map}}}`;
      const body = op === 'CreateGrant' ? grant : `{"KeyId":"${keyId}",${op === 'Encrypt' ? '"Plaintext":"aGk="' : '"NumberOfBytes":32'},"EncryptionContext":${map}}`;
      // A context over 8 KB is refused; grant constraints have no such bound in ebsim.
      return { target: op, body, answer: op === 'CreateGrant' ? /^(200 |400 ValidationException)$/ : /^400 ValidationException$/, recorded: 1 };
    }),
    // Keys that are also names of Object.prototype: ordinary keys, in a context or as members.
    fc.record({ key: fc.constantFrom(...SPECIAL_KEYS), where: fc.constantFrom('context', 'member', 'constraints') }).map(({ key, where }): Attack => {
      if (where === 'context') {
        return { target: 'Encrypt', body: JSON.stringify({ KeyId: keyId, Plaintext: 'aGk=', EncryptionContext: JSON.parse(`{"${key}":"v","other":"w"}`) }), answer: /^200 $/, recorded: 1 };
      }
      if (where === 'member') {
        return { target: 'DescribeKey', body: `{"KeyId":"${keyId}","${key}":{"KeyId":"x"}}`, answer: /^400 ValidationException$/, recorded: 1 };
      }
      return {
        target: 'CreateGrant',
        body: `{"KeyId":"${keyId}","GranteePrincipal":"arn:aws:iam::123456789012:user/Alice","Operations":["Decrypt"],"Constraints":{"${key}":{"a":"b"}}}`,
        answer: /^400 ValidationException$/,
        recorded: 1,
      };
    }),
  );

const tamper = fc.oneof(
  // Headers sent but not signed: the replay of a host;x-amz-date signature as CreateKey.
  fc.record({ unsigned: fc.subarray(['x-amz-target', 'content-type'], { minLength: 1 }), extra: fc.boolean() }).map(({ unsigned, extra }) => ({
    opts: { unsigned, headers: extra ? { 'x-amz-extra': 'added after signing' } : {} } as RawOptions,
    type: /^InvalidSignatureException$/,
    message: /^There were headers present in the request which were not signed\. HeadersNotSigned: /,
  })),
  // A scope that names a Region outside the commercial partition, or another service.
  fc.record({ region: fc.constantFrom('us-east-1', 'cn-north-1', 'us-gov-west-1', 'US-EAST-1'), service: fc.constantFrom('kms', 's3', 'sts', 'cloudtrail') })
    .filter((s) => !(s.region === 'us-east-1' && s.service === 'kms'))
    .map(({ region, service }) => ({
      opts: { region, service } as RawOptions,
      type: /^InvalidSignatureException$/,
      message: region === 'us-east-1' ? /^Credential should be scoped to correct service: 'kms'\. $/ : new RegExp(`^Credential should be scoped to a valid region, not '${region}'\\. $`),
    })),
);

describe('a hostile client beside a good one', () => {
  it('the server stays up, refuses every attack with AWS\'s error, and answers and records every good Decrypt exactly once', async () => {
    const keyId = (await raw(serve.url, `${KMS}CreateKey`, '{"Description":"hostile"}', { creds: alice })).json().KeyMetadata.KeyId as string;
    const blob = (await raw(serve.url, `${KMS}Encrypt`, JSON.stringify({ KeyId: keyId, Plaintext: 'aGVsbG8=', EncryptionContext: { purpose: 'good' } }), { creds: alice })).json().CiphertextBlob as string;

    const attacks = fc.sample(attack(keyId), { numRuns: 120, seed: 1111 });
    const tampered = fc.sample(fc.tuple(tamper, fc.constantFrom('CreateKey', 'Decrypt', 'ListKeys')), { numRuns: 60, seed: 2222 });
    const problems: string[] = [];
    const check = (what: string, ok: boolean) => ok || problems.push(what);

    const hostile = async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      const queue: (() => Promise<void>)[] = [
        ...attacks.map((a, i) => async () => {
          const r = await raw(serve.url, `${KMS}${a.target}`, a.body, { creds: alice, agent, userAgent: `hostile/${i}` });
          const type = r.status === 200 ? '' : String(r.json().__type);
          check(`attack ${i} ${a.target} ${a.body.slice(0, 80)} → ${r.status} ${r.body.slice(0, 200)}`, a.answer.test(`${r.status} ${type}`));
        }),
        ...tampered.map(([t, op], i) => async () => {
          const r = await raw(serve.url, `${KMS}${op}`, '{}', { creds: alice, agent, userAgent: `tampered/${i}`, ...t.opts });
          check(`tampered ${i} ${JSON.stringify(t.opts)} → ${r.status} ${r.body}`, r.status === 400 && t.type.test(r.json().__type) && t.message.test(r.json().message));
        }),
      ];
      await Promise.all(Array.from({ length: 4 }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await next();
      }));
      agent.destroy();
    };

    const GOOD = 300;
    const good = async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 16 });
      const answers = await Promise.all(Array.from({ length: GOOD }, (_, i) =>
        raw(serve.url, `${KMS}Decrypt`, JSON.stringify({ CiphertextBlob: blob, EncryptionContext: { purpose: 'good' } }), { creds: alice, agent, userAgent: `good/${i}` }),
      ));
      agent.destroy();
      return answers;
    };

    const [answers] = await Promise.all([good(), hostile()]);
    expect(problems).toEqual([]);
    expect(answers.map((r) => r.status)).toEqual(Array(GOOD).fill(200));
    expect(answers.every((r) => r.json().Plaintext === 'aGVsbG8=')).toBe(true);
    // Still up, and a clean shutdown commits the trail.
    expect((await raw(serve.url, `${KMS}ListKeys`, '{}', { creds: alice })).status).toBe(200);
    expect(serve.stderr()).not.toMatch(/RangeError|trail writer|dropped|Internal/);
    expect(await serve.stop()).toBe(0);

    const records = trailRecords(home);
    const byAgent = new Map<string, Record<string, any>[]>();
    for (const r of records) byAgent.set(r.userAgent, [...(byAgent.get(r.userAgent) ?? []), r]);
    const count = (agent: string) => byAgent.get(agent)?.length ?? 0;
    expect(Array.from({ length: GOOD }, (_, i) => count(`good/${i}`))).toEqual(Array(GOOD).fill(1));
    expect(attacks.map((_, i) => count(`hostile/${i}`))).toEqual(attacks.map((a) => a.recorded));
    expect(tampered.map((_, i) => count(`tampered/${i}`))).toEqual(tampered.map(() => 0));
    // The wire kept the special keys as ordinary keys: the trail shows them as sent.
    attacks.forEach((a, i) => {
      if (a.target === 'Encrypt' && a.answer.test('200 ')) {
        const sent = Object.keys(JSON.parse(a.body).EncryptionContext);
        expect(Object.keys(byAgent.get(`hostile/${i}`)![0]!.requestParameters.encryptionContext)).toEqual(sent);
      }
    });
  }, 120_000);
});
