// Synthetic trail records in the shapes ebsim writes (the seed's KMS calls by instances' roles
// through grants, IAM users' calls, EC2's and STS's), with the mix of a busy home: mostly Decrypt
// and data keys, some administration, a few rare events. Record `i` is a function of `i`, so a
// bench knows which values are common, rare or absent. One template makes both the stored row
// (for seeding millions fast) and the record object (for the real insert path).
import type { TrailRecord } from '../../src/trail/record.js';
import type { TrailRow } from '../../src/trail/background-writer.js';

export const ACCOUNT = '123456789012';
export const USERS = 50;
export const INSTANCES = 1000;
export const KEYS = 100;

/** [event name, event source, readOnly, records in a million]. */
const MIX: readonly (readonly [string, string, boolean | undefined, number])[] = [
  ['Decrypt', 'kms.amazonaws.com', true, 500_000],
  ['GenerateDataKeyWithoutPlaintext', 'kms.amazonaws.com', true, 200_000],
  ['Encrypt', 'kms.amazonaws.com', true, 100_000],
  ['GenerateDataKey', 'kms.amazonaws.com', true, 100_000],
  ['DescribeKey', 'kms.amazonaws.com', true, 60_000],
  ['CreateGrant', 'kms.amazonaws.com', false, 20_000],
  ['RetireGrant', 'kms.amazonaws.com', false, 10_000],
  ['RunInstances', 'ec2.amazonaws.com', undefined, 5_000],
  ['AssumeRole', 'sts.amazonaws.com', true, 4_990],
  ['ScheduleKeyDeletion', 'kms.amazonaws.com', false, 10],
];
const TOTAL = MIX.reduce((a, m) => a + m[3], 0);

/** Ten in a million. */
export const RARE_EVENT_NAME = 'ScheduleKeyDeletion';
/** Five in a thousand. */
export const UNCOMMON_EVENT_SOURCE = 'sts.amazonaws.com';

function mix32(i: number): number {
  let x = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

function kindOf(i: number) {
  let r = mix32(i) % TOTAL;
  for (const m of MIX) {
    if (r < m[3]) return m;
    r -= m[3];
  }
  return MIX[0]!;
}

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);
export const keyArn = (k: number) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${hex(Math.imul(k + 1, 2654435761), 8)}-0000-4000-8000-${hex(k, 12)}`;
export const userName = (u: number) => `user-${u}`;
export const accessKeyOf = (u: number) => `AKIA${hex(Math.imul(u + 1, 40503), 8).toUpperCase()}${hex(u, 8).toUpperCase()}`;
export const instanceOf = (n: number) => `i-${hex(n, 17)}`;
/** A UUID that is a function of the index, in the shape of AWS's eventID. */
export const eventIdOf = (i: number) => `${hex(mix32(i), 8)}-${hex(i >>> 16, 4)}-4${hex(i, 3)}-8${hex(mix32(i + 1), 3)}-${hex(mix32(i + 2), 8)}${hex(i, 4)}`;

const timeCache = new Map<number, string>();
function isoOf(ms: number): string {
  let s = timeCache.get(ms);
  if (!s) {
    if (timeCache.size > 1000) timeCache.clear();
    timeCache.set(ms, (s = new Date(ms).toISOString().slice(0, 19) + 'Z'));
  }
  return s;
}

/** Row `i` of a trail begun at `start` (ms) that grows `perSecond` records a second: the columns of trail_events. */
export function syntheticRow(i: number, start: number, perSecond: number): TrailRow {
  const [eventName, eventSource, readOnly] = kindOf(i);
  const h = mix32(i + 7);
  const eventTime = isoOf(start + Math.floor(i / perSecond) * 1000);
  const key = keyArn(h % KEYS);
  const byUser = eventSource !== 'kms.amazonaws.com' || eventName === 'DescribeKey' || eventName === 'CreateGrant' || eventName === 'ScheduleKeyDeletion' || h % 10 === 0;
  const u = (h >>> 8) % USERS;
  const inst = instanceOf((h >>> 4) % INSTANCES);
  const eventId = eventIdOf(i);
  const identity = byUser
    ? `{"type":"IAMUser","principalId":"AIDA${hex(u, 17).toUpperCase()}","arn":"arn:aws:iam::${ACCOUNT}:user/${userName(u)}","accountId":"${ACCOUNT}","accessKeyId":"${accessKeyOf(u)}","userName":"${userName(u)}","sessionContext":{"attributes":{"mfaAuthenticated":"false","creationDate":"${eventTime}"}}}`
    : `{"type":"AssumedRole","principalId":"${ACCOUNT}:aws:ec2-infrastructure:${inst}","arn":"arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-infrastructure/${inst}","accountId":"${ACCOUNT}","accessKeyId":"","sessionContext":{"attributes":{"mfaAuthenticated":"false","creationDate":"${eventTime}"},"sessionIssuer":{"type":"Role","principalId":"${ACCOUNT}:aws:ec2-infrastructure","arn":"arn:aws:iam::${ACCOUNT}:role/aws:ec2-infrastructure","accountId":"${ACCOUNT}","userName":"aws:ec2-infrastructure"}}}`;
  const volume = `vol-${hex(h, 17)}`;
  const hasResource = eventName !== 'AssumeRole' && eventName !== 'RunInstances';
  const params = eventName === 'Decrypt' ? `{"encryptionContext":{"aws:ebs:id":"${volume}"}}` : `{"keyId":"${key}","encryptionContext":{"aws:ebs:id":"${volume}"}}`;
  const record =
    `{"eventVersion":"1.02","userIdentity":${identity},"eventTime":"${eventTime}","eventSource":"${eventSource}","eventName":"${eventName}","awsRegion":"us-east-1",` +
    `"sourceIPAddress":"${byUser ? '203.0.113.10' : '172.16.0.10'}",${byUser ? '"userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",' : ''}` +
    `"requestParameters":${params},"responseElements":null,"requestID":"${eventIdOf(i + 0x40000000)}","eventID":"${eventId}",` +
    `${readOnly === undefined ? '' : `"readOnly":${readOnly},`}${hasResource ? `"resources":[{"ARN":"${key}","accountId":"${ACCOUNT}"}],` : ''}"eventType":"AwsApiCall","recipientAccountId":"${ACCOUNT}"}`;
  return [
    eventId, eventTime, eventSource, eventName, byUser ? userName(u) : inst, byUser ? accessKeyOf(u) : '',
    readOnly === undefined ? null : readOnly ? 1 : 0, hasResource ? `["${key}"]` : '[]', record,
  ];
}

/** The same record as an object, for the insert path that serializes it (rowOf). */
export function syntheticRecord(i: number, start: number, perSecond: number): TrailRecord {
  return JSON.parse(syntheticRow(i, start, perSecond)[8]) as TrailRecord;
}
