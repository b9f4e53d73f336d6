// Policy evaluation per second, on the path KMS will take for every call: the default key policy
// with an identity policy, and a 10-statement key policy whose statements all carry conditions.
// Measured with `explain: false` (the hot path) and with the trace built (--explain). The
// reference, measured in the same run, is a naive engine that parses the policy on every call;
// the yardstick (copying the request's keys into a Map) helps read figures from a busy machine.
import { opsPerSecond, scaled, type BenchRow, type BenchSuite } from '../harness.js';
import { evaluate, parsePolicy, type ConditionValue, type NamedPolicy, type RequestContext } from '../../src/policy/index.js';
import type { PolicySources } from '../../src/policy/evaluate.js';

const ACCT = '111122223333';
const KEY = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
/** ebsim's KMS today: about 20,000 Decrypt calls per second in process, so 50 µs a call. */
const KMS_CALL_US = 50;

const DEFAULT_TEXT = JSON.stringify({
  Version: '2012-10-17',
  Id: 'key-default-1',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:*', Resource: '*' }],
});

/** Ten statements, each conditioned; the one that allows the request is the last. */
const CONDITIONED_TEXT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'DenyOutsideNetwork', Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '2001:db8::/32'] }, Bool: { 'aws:ViaAWSService': 'false' } } },
    { Sid: 'DenyGrantsNotForAws', Effect: 'Deny', Principal: '*', Action: 'kms:CreateGrant', Resource: '*', Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false' } } },
    { Sid: 'Admins', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:role/KeyAdmin` }, Action: ['kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion'], Resource: '*', Condition: { StringEquals: { 'aws:PrincipalType': 'AssumedRole' } } },
    { Sid: 'Reporting', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:role/Reporting` }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:department': 'finance' } } },
    { Sid: 'Backups', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:role/Backup` }, Action: ['kms:Encrypt', 'kms:GenerateDataKey*'], Resource: '*', Condition: { 'ForAllValues:StringLike': { 'kms:EncryptionContextKeys': ['backup:*'] } } },
    { Sid: 'BusinessHours', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:user/Auditor` }, Action: 'kms:Describe*', Resource: '*', Condition: { DateGreaterThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' }, DateLessThan: { 'aws:CurrentTime': '2027-01-01T00:00:00Z' } } },
    { Sid: 'OwnData', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:owner': '${aws:username}' } } },
    { Sid: 'SmallKeys', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: 'kms:GenerateDataKey', Resource: '*', Condition: { NumericLessThanEquals: { 'kms:NumberOfBytes': '64' } } },
    { Sid: 'FromServices', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:CallerAccount': ACCT }, StringLike: { 'kms:ViaService': ['rds.*.amazonaws.com', 's3.*.amazonaws.com'] } } },
    { Sid: 'ThroughEbs', Effect: 'Allow', Principal: { AWS: '*' }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'], Resource: '*', Condition: { StringEquals: { 'kms:CallerAccount': ACCT, 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' }, 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': 'aws:ebs:id' } } },
  ],
});

const ADMIN = parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }), 'identity');

function request(): RequestContext {
  const keys = new Map<string, ConditionValue>([
    ['aws:PrincipalArn', `arn:aws:iam::${ACCT}:role/Instance`],
    ['aws:PrincipalAccount', ACCT],
    ['aws:PrincipalType', 'AssumedRole'],
    ['aws:userid', 'AROAEXAMPLEEXAMPLE01:i-0123456789abcdef0'],
    ['aws:SourceIp', '10.1.2.3'],
    ['aws:CurrentTime', '2026-11-29T04:35:48Z'],
    ['aws:EpochTime', '1795926948'],
    ['aws:SecureTransport', 'true'],
    ['aws:ViaAWSService', 'true'],
    ['kms:CallerAccount', ACCT],
    ['kms:ViaService', 'ec2.us-east-1.amazonaws.com'],
    ['kms:EncryptionContextKeys', ['aws:ebs:id']],
    ['kms:EncryptionContext:aws:ebs:id', 'vol-0123456789abcdef0'],
  ]);
  return {
    action: 'kms:Decrypt',
    resource: KEY,
    resourceAccount: ACCT,
    principal: { arn: `arn:aws:sts::${ACCT}:assumed-role/Instance/i-0123456789abcdef0`, accountId: ACCT, roleArn: `arn:aws:iam::${ACCT}:role/Instance` },
    keys,
  };
}

const sources = (text: string): PolicySources => ({
  resourcePolicy: { name: 'key policy', type: 'resource-based', document: parsePolicy(text, 'key') } satisfies NamedPolicy,
  identityPolicies: [{ name: 'AdministratorAccess', type: 'identity-based', document: ADMIN }],
  resourcePolicyRequired: true,
});

export const suite: BenchSuite = {
  name: 'policy',
  description: 'policy evaluations per second (src/policy), as on the KMS authorization path',
  async run(ctx) {
    const minMs = scaled(ctx, 200, 60, 2);
    const rounds = scaled(ctx, 9, 5, 1);
    const req = request();
    const cases = [
      { policy: 'default key policy + AdministratorAccess', text: DEFAULT_TEXT },
      { policy: '10 conditioned statements + AdministratorAccess', text: CONDITIONED_TEXT },
    ];
    const targets: { policy: string; path: string; fn: () => void }[] = [];
    for (const c of cases) {
      const src = sources(c.text);
      // Cross-check before timing: both paths allow, and the naive reference agrees.
      const full = evaluate(req, src);
      const fast = evaluate(req, src, { explain: false });
      const naive = evaluate(req, sources(c.text), { explain: false });
      if (full.decision !== 'Allow' || fast.decision !== 'Allow' || naive.decision !== 'Allow') throw new Error(`${c.policy}: expected Allow, got ${full.decision}/${fast.decision}/${naive.decision}`);
      targets.push(
        { policy: c.policy, path: 'explain: false', fn: () => void evaluate(req, src, { explain: false }) },
        { policy: c.policy, path: 'explain: true (trace)', fn: () => void evaluate(req, src) },
        { policy: c.policy, path: 'reference: parse per call', fn: () => void evaluate(req, sources(c.text), { explain: false }) },
      );
    }
    // A yardstick for a busy machine: copying the request's keys into a new Map, work any caller does per call.
    targets.push({ policy: '(yardstick)', path: `new Map of the request's ${req.keys.size} keys`, fn: () => void new Map(req.keys) });
    // Rounds interleave the targets, and each keeps its best: the machine is shared, load comes and goes.
    const best = new Array<number>(targets.length).fill(0);
    const samples: number[][] = targets.map(() => []);
    for (let r = 0; r < rounds; r++) {
      ctx.log(`round ${r + 1}/${rounds}`);
      targets.forEach((t, i) => {
        const ops = opsPerSecond(t.fn, minMs);
        samples[i]!.push(ops);
        best[i] = Math.max(best[i]!, ops);
      });
    }
    const rows: BenchRow[] = targets.map((t, i) => ({
      policy: t.policy,
      path: t.path,
      'evals/s': Math.round(best[i]!),
      'µs/eval': 1e6 / best[i]!,
      [`% of a ${KMS_CALL_US} µs KMS call`]: t.policy.startsWith('(') ? null : (100 * 1e6) / best[i]! / KMS_CALL_US,
    }));
    return {
      rows,
      notes: [`best of ${rounds} interleaved rounds`, 'the request carries 13 condition keys (as a Decrypt through EC2 would); the allowing statement of the 10-statement policy is its last'],
      samples: Object.fromEntries(targets.map((t, i) => [`${t.policy} / ${t.path}`, samples[i]])),
    };
  },
};
