// The one invoke path and the one recorder, on a toy service over a real home's trail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, errorCode, type TestHome } from '../helpers/home.js';
import { Invoker, Recorder, requestParametersOf, validateInput, type ServiceDeclaration } from '../../src/api/index.js';
import { UnknownOperationException, KMSInternalException, NotFoundException } from '../../src/errors/index.js';
import { allRecords } from '../../src/trail/lookup.js';
import type { TrailRecord } from '../../src/trail/record.js';

let h: TestHome;
const records = (): TrailRecord[] => {
  h.app.trail.flush();
  return allRecords(h.app.db).filter((r) => r.eventSource === 'toy.amazonaws.com');
};

const toy: ServiceDeclaration<{ dueRuns: number }> = {
  name: 'toy',
  eventSource: 'toy.amazonaws.com',
  unknownOperation: (name) => new UnknownOperationException(`no ${name}`),
  internalError: (message) => new KMSInternalException(message),
  operations: [
    {
      name: 'Echo',
      description: 'echo',
      readOnly: true,
      ext: undefined,
      input: {
        Name: { kind: 'string', required: true, min: 1, max: 5 },
        Secret: { kind: 'string', secret: true },
        Data: { kind: 'blob', min: 1, max: 4 },
        Count: { kind: 'integer', min: 1, max: 3 },
        Mode: { kind: 'string', enum: ['A', 'B'] },
        Tags: { kind: 'list', member: { kind: 'structure', members: { TagKey: { kind: 'string', required: true }, TagValue: { kind: 'string' } } } },
        Context: { kind: 'map', value: { kind: 'string' } },
      },
      run(_ctx, input, call) {
        call.resources.push({ ARN: 'arn:toy:1', accountId: '123456789012' }, { ARN: 'arn:toy:1', accountId: '123456789012' });
        if (input.Name === 'boom') throw new Error('boom');
        if (input.Name === 'nf') throw new NotFoundException('not here');
        return { response: { Name: input.Name }, responseElements: { name: input.Name } };
      },
    },
  ],
};

let invoker: Invoker<{ dueRuns: number }>;
const env = { dueRuns: 0 };

beforeAll(() => {
  h = makeHome();
  invoker = new Invoker({ service: toy, env, recorder: new Recorder(h.app.trail), db: h.app.db, runDueWork: () => void env.dueRuns++ });
});
afterAll(() => h.cleanup());

describe('validateInput', () => {
  const members = toy.operations[0]!.input;
  it('checks kinds, bounds and enums with AWS wording, in declaration order', () => {
    expect(() => validateInput({}, members)).toThrow("Value 'null' at 'name' failed to satisfy constraint: Member must not be null");
    expect(() => validateInput({ Name: 'toolong' }, members)).toThrow("at 'name' failed to satisfy constraint: Member must have length less than or equal to 5");
    expect(() => validateInput({ Name: 'a', Count: 4 }, members)).toThrow("Value '4' at 'count' failed to satisfy constraint: Member must have value less than or equal to 3");
    expect(() => validateInput({ Name: 'a', Mode: 'C' }, members)).toThrow('Member must satisfy enum value set: [A, B]');
    expect(() => validateInput({ Name: 'a', Data: new Uint8Array(5) }, members)).toThrow('lim=5');
    expect(() => validateInput({ Name: 'a', Tags: [{}] }, members)).toThrow("at 'tags.1.member.tagKey'");
    expect(() => validateInput({ Name: 'a', Other: 1 }, members)).toThrow("Unknown parameter 'Other'. Valid parameters are: Name, Secret, Data, Count, Mode, Tags, Context.");
    // h21: a list item is never absent; an operation without members says so (not "Valid parameters are: .").
    expect(() => validateInput({ Name: 'a', Tags: [null] }, members)).toThrow("Value 'null' at 'tags.1.member' failed to satisfy constraint: Member must not be null");
    expect(() => validateInput({ Other: 1 }, {})).toThrow("Unknown parameter 'Other'. This operation takes no parameters.");
  });
  it('returns null-prototype maps whose "__proto__" key is an ordinary entry', () => {
    const ctx = JSON.parse('{"__proto__":"x"}');
    const out = validateInput({ Name: 'a', Context: ctx }, members);
    expect(Object.getPrototypeOf(out.Context)).toBe(null);
    expect(Object.keys(out.Context as object)).toEqual(['__proto__']);
  });
});

describe('requestParametersOf', () => {
  it('camelCases members, drops secret members and blobs, keeps map keys and unknown members', () => {
    const p = requestParametersOf({ Name: 'a', Secret: 's', Data: new Uint8Array(1), Tags: [{ TagKey: 'k', TagValue: 'v' }], Context: { Key: 'v' }, Other: 1 }, toy.operations[0]!.input);
    expect(JSON.parse(JSON.stringify(p))).toEqual({ name: 'a', tags: [{ tagKey: 'k', tagValue: 'v' }], context: { Key: 'v' }, other: 1 });
    expect(requestParametersOf({ Secret: 's' }, toy.operations[0]!.input)).toBe(null);
  });
});

describe('Invoker', () => {
  it('records each call once: success, AWS error, internal failure, unknown operation, invalid input', () => {
    const alice = h.app.as('Alice');
    const before = env.dueRuns;
    expect(invoker.invoke(alice, 'Echo', { Name: 'ok' })).toEqual({ Name: 'ok' });
    expect(errorCode(() => invoker.invoke(alice, 'Echo', { Name: 'nf' }))).toBe('NotFoundException');
    expect(() => invoker.invoke(alice, 'Echo', { Name: 'boom' })).toThrow('boom');
    expect(errorCode(() => invoker.invoke(alice, 'Nope', { A: 1 }))).toBe('UnknownOperationException');
    expect(errorCode(() => invoker.invoke(alice, 'Echo', { Name: 'toolong' }))).toBe('ValidationException');
    expect(env.dueRuns - before).toBe(3);
    const r = records();
    expect(r.map((x) => [x.eventName, x.errorCode ?? null])).toEqual([
      ['Echo', null],
      ['Echo', 'NotFoundException'],
      ['Echo', 'KMSInternalException'],
      ['Nope', 'UnknownOperationException'],
      ['Echo', 'ValidationException'],
    ]);
    expect(r[0]).toMatchObject({ eventType: 'AwsApiCall', readOnly: true, requestParameters: { name: 'ok' }, responseElements: { name: 'ok' }, resources: [{ ARN: 'arn:toy:1', accountId: '123456789012' }] });
    expect(r[1]!.resources).toHaveLength(1);
    expect(r[3]!.requestParameters).toEqual({ a: 1 });
  });

  it('records service events as AWS does (AwsServiceEvent, AWS Internal)', () => {
    new Recorder(h.app.trail).serviceEvent({
      eventSource: 'toy.amazonaws.com', eventName: 'Tick', accountId: '123456789012', region: 'us-east-1',
      resources: [{ ARN: 'arn:toy:2', accountId: '123456789012', type: 'AWS::Toy::Thing' }], serviceEventDetails: { n: 1 },
    });
    const e = records().pop()!;
    expect(e).toMatchObject({
      eventName: 'Tick', eventType: 'AwsServiceEvent', userIdentity: { accountId: '123456789012', invokedBy: 'AWS Internal' },
      sourceIPAddress: 'AWS Internal', readOnly: false, managementEvent: true, eventCategory: 'Management', serviceEventDetails: { n: 1 },
      resources: [{ accountId: '123456789012', type: 'AWS::Toy::Thing', ARN: 'arn:toy:2' }],
    });
    expect(e.requestID).toBeUndefined();
  });
});
