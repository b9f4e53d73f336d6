// STS GetCallerIdentity and CloudTrail LookupEvents leave one record each, whether the call comes
// from `ebsim` or over HTTP from the real AWS CLI, as AWS records them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { RunningServer } from '../../src/server/index.js';
import { aliceCredentials, aws, inProcess, newHome, removeHome, trailRecords } from '../server/helpers.js';
import { ebsimIn } from '../helpers/cli.js';

const HAVE_AWS = existsSync('/usr/bin/aws');
let home: string;

async function ebsim(...args: string[]) {
  return ebsimIn(home, args);
}

/** Runs `fn` and returns the records of `eventName` it added (oldest first). */
async function added(eventName: string, fn: () => Promise<unknown>, flush: () => void = () => {}) {
  const before = trailRecords(home, eventName).length;
  await fn();
  flush();
  return trailRecords(home, eventName).slice(0, -before || undefined).reverse();
}

beforeAll(() => {
  home = newHome('ebsim-recorded-');
});
afterAll(() => removeHome(home));

describe('from the CLI', () => {
  it('ebsim sts get-caller-identity: one GetCallerIdentity record, read-only, under the caller', async () => {
    let printed: Record<string, string> = {};
    const recs = await added('GetCallerIdentity', async () => {
      const r = await ebsim('sts', 'get-caller-identity');
      expect(r.code, r.stderr).toBe(0);
      printed = JSON.parse(r.stdout);
    });
    expect(printed).toMatchObject({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/Alice' });
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      eventSource: 'sts.amazonaws.com',
      eventName: 'GetCallerIdentity',
      readOnly: true,
      requestParameters: null,
      responseElements: null,
      userIdentity: { type: 'IAMUser', userName: 'Alice' },
    });
    expect(recs[0]!.errorCode).toBeUndefined();
  });

  it('ebsim trail lookup-events: one LookupEvents record (cloudtrail.amazonaws.com, readOnly), with the lookup attributes as AWS logs them', async () => {
    const recs = await added('LookupEvents', async () => {
      const r = await ebsim('trail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=GetCallerIdentity', '--max-results', '5');
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).Events.map((e: { EventName: string }) => e.EventName)).toEqual(['GetCallerIdentity']);
    });
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'LookupEvents',
      readOnly: true,
      responseElements: null,
      requestParameters: { lookupAttributes: [{ attributeKey: 'EventName', attributeValue: 'GetCallerIdentity' }], maxResults: 5 },
    });
  });

  it('a refused lookup is recorded once too, with its errorCode', async () => {
    const recs = await added('LookupEvents', async () => {
      const r = await ebsim('trail', 'lookup-events', '--max-results', '500');
      expect(r.stderr).toContain('(InvalidMaxResultsException) when calling the LookupEvents operation');
    });
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ errorCode: 'InvalidMaxResultsException', readOnly: true });
  });
});

describe.skipIf(!HAVE_AWS)('over HTTP, from the real AWS CLI', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await inProcess(home);
  });
  afterAll(async () => {
    await server?.close();
  });
  const flush = () => server.app.trail.flush();

  it('aws sts get-caller-identity: one GetCallerIdentity record, under the signer, from the CLI\'s address and user agent', async () => {
    const recs = await added('GetCallerIdentity', async () => {
      const r = await aws(server.url, home, ['sts', 'get-caller-identity']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ Arn: 'arn:aws:iam::123456789012:user/Alice' });
    }, flush);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({
      eventSource: 'sts.amazonaws.com',
      readOnly: true,
      sourceIPAddress: '127.0.0.1',
      userIdentity: { type: 'IAMUser', userName: 'Alice', accessKeyId: aliceCredentials(home).accessKeyId },
    });
    expect(recs[0]!.userAgent).toMatch(/^aws-cli\//);
  });

  it('aws cloudtrail lookup-events: one LookupEvents record', async () => {
    const recs = await added('LookupEvents', async () => {
      const r = await aws(server.url, home, ['cloudtrail', 'lookup-events', '--lookup-attributes', 'AttributeKey=EventName,AttributeValue=GetCallerIdentity', '--max-items', '3']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).Events.length).toBe(2);
    }, flush);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ eventSource: 'cloudtrail.amazonaws.com', readOnly: true, sourceIPAddress: '127.0.0.1', requestParameters: { lookupAttributes: [{ attributeKey: 'EventName', attributeValue: 'GetCallerIdentity' }] } });
    expect(recs[0]!.userAgent).toMatch(/^aws-cli\//);
  });
});
