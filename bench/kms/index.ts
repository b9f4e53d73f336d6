// In-process KMS throughput: GenerateDataKeyWithoutPlaintext and Decrypt per second, each with
// its CloudTrail record written (group-committed within the trail's flush window), as EC2 and
// the instance's role call them in the seed: through grants on the AWS managed key.
import { onBehalfOf } from '../../src/core/call-context.js';
import { EC2_INFRASTRUCTURE_ROLE } from '../../src/iam/service.js';
import { scaled, type BenchRow, type BenchSuite } from '../harness.js';
import { instanceHost, withBenchHome } from '../in-process-home.js';
import { asymmetricRows } from './asymmetric.js';
import { kmsConcurrency } from './concurrency.js';

/** AWS's largest per-account, per-Region quota for these calls (5,500 to 50,000 by Region). */
const AWS_QUOTA = 50_000;

export const suite: BenchSuite = {
  name: 'kms',
  description: 'in-process KMS calls per second, each recorded in the trail',
  async run(ctx) {
    if (ctx.matrix) return kmsConcurrency(ctx, ctx.matrix);
    return withBenchHome('ebsim-bench-kms-', (app) => {
      const kms = app.kms();
      const alice = app.as('Alice');
      const ec2 = onBehalfOf(alice, 'ec2');
      const context = { 'aws:ebs:id': 'vol-0123456789abcdef0' };
      const instance = 'i-0123456789abcdef0';
      const keyArn = (kms.call(alice, 'DescribeKey', { KeyId: 'alias/aws/ebs' }).KeyMetadata as { Arn: string }).Arn;
      kms.call(ec2, 'CreateGrant', { KeyId: keyArn, GranteePrincipal: `123456789012:${EC2_INFRASTRUCTURE_ROLE}:${instance}`, Operations: ['Decrypt'], Constraints: { EncryptionContextSubset: context } });
      const host = instanceHost(app, instance);
      const gen = () => kms.call(ec2, 'GenerateDataKeyWithoutPlaintext', { KeyId: 'alias/aws/ebs', NumberOfBytes: 64, EncryptionContext: context });
      const blob = gen().CiphertextBlob;
      // Cross-check before timing: the role decrypts what EC2 generated.
      if ((kms.call(host, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: context }).Plaintext as Uint8Array).length !== 64) throw new Error('decrypt check failed');
      const ms = scaled(ctx, 2000, 500, 10);
      const countBefore = (app.db.prepare('SELECT count(*) n FROM trail_events').get() as { n: number }).n;
      // The clock stops only once every call's record is committed: a trail writer that falls
      // behind cannot flatter the figure.
      const per = scaled(ctx, 256, 256, 4); // calls between looks at the clock
      const recorded = (fn: () => void) => {
        const t0 = performance.now();
        let n = 0;
        while (performance.now() - t0 < ms) {
          for (let i = 0; i < per; i++) fn();
          n += per;
        }
        app.trail.flush();
        return (n * 1000) / (performance.now() - t0);
      };
      for (let i = 0, n = scaled(ctx, 2000, 2000, 16); i < n; i++) gen();
      ctx.log('GenerateDataKeyWithoutPlaintext…');
      const genOps = recorded(gen);
      ctx.log('Decrypt…');
      const decOps = recorded(() => kms.call(host, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: context }));
      // The cost of policies: a customer managed key under AWS's default policy against the same
      // calls under a 10-statement policy with conditions (the allowing statement last), rounds
      // interleaved so both see the same machine.
      const plainKey = (kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
      const busyKey = (kms.call(alice, 'CreateKey', { Policy: tenStatementPolicy('123456789012') }).KeyMetadata as { KeyId: string }).KeyId;
      const genOn = (KeyId: string) => () => kms.call(alice, 'GenerateDataKeyWithoutPlaintext', { KeyId, NumberOfBytes: 32, EncryptionContext: context });
      ctx.log('policy cost…');
      let plainBest = 0;
      let busyBest = 0;
      for (let round = 0, rounds = scaled(ctx, 3, 3, 1); round < rounds; round++) {
        plainBest = Math.max(plainBest, recorded(genOn(plainKey)));
        busyBest = Math.max(busyBest, recorded(genOn(busyKey)));
      }
      ctx.log('Sign, Verify, GenerateMac…');
      const bare = (fn: () => void) => {
        const t0 = performance.now();
        let n = 0;
        while (performance.now() - t0 < ms) {
          for (let i = 0; i < 16; i++) fn();
          n += 16;
        }
        return (n * 1000) / (performance.now() - t0);
      };
      const asymmetric = asymmetricRows(kms, alice, recorded, bare, scaled(ctx, 3, 2, 1));
      const written = (app.db.prepare('SELECT count(*) n FROM trail_events').get() as { n: number }).n - countBefore;
      const rows: BenchRow[] = [
        { operation: 'GenerateDataKeyWithoutPlaintext (via EC2, alias/aws/ebs)', 'ops/s': Math.round(genOps), 'x AWS quota 50k': genOps / AWS_QUOTA, 'x default policy': null },
        { operation: 'Decrypt (assumed role through a grant)', 'ops/s': Math.round(decOps), 'x AWS quota 50k': decOps / AWS_QUOTA, 'x default policy': null },
        { operation: 'GenerateDataKeyWithoutPlaintext (Alice, default key policy)', 'ops/s': Math.round(plainBest), 'x AWS quota 50k': plainBest / AWS_QUOTA, 'x default policy': 1 },
        { operation: 'same, key policy of 10 statements with conditions', 'ops/s': Math.round(busyBest), 'x AWS quota 50k': busyBest / AWS_QUOTA, 'x default policy': busyBest / plainBest },
        ...asymmetric,
      ];
      return {
        rows,
        notes: [
          `${written} trail records written during the run (one per call)`,
          'each figure includes the time to commit every record of the run (trail inserts run on a worker thread)',
          "x bare call: the same cryptography called directly on the library ebsim uses (@noble/curves, @noble/post-quantum, @noble/hashes), best round of each, rounds interleaved",
        ],
      };
    });
  },
};

/** Ten statements of the kinds users write (conditions on context, service, source, transport), the allowing one last. */
export function tenStatementPolicy(account: string): string {
  const root = { AWS: `arn:aws:iam::${account}:root` };
  const role = (name: string) => ({ AWS: `arn:aws:iam::${account}:role/${name}` });
  const statements = [
    { Sid: 'DenyInsecure', Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
    { Sid: 'DenyOtherAccounts', Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { StringNotEquals: { 'kms:CallerAccount': account } } },
    { Sid: 'Admins', Effect: 'Allow', Principal: role('KeyAdmins'), Action: ['kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion'], Resource: '*' },
    { Sid: 'AppByContext', Effect: 'Allow', Principal: role('App'), Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey*'], Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:app': 'billing' } } },
    { Sid: 'EbsOnly', Effect: 'Allow', Principal: role('Builder'), Action: ['kms:CreateGrant', 'kms:Decrypt'], Resource: '*', Condition: { StringEquals: { 'kms:ViaService': `ec2.us-east-1.amazonaws.com` }, Bool: { 'kms:GrantIsForAWSResource': 'true' } } },
    { Sid: 'Office', Effect: 'Allow', Principal: role('Analyst'), Action: 'kms:Decrypt', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': ['203.0.113.0/24', '2001:db8::/32'] } } },
    { Sid: 'ContextKeys', Effect: 'Allow', Principal: role('Batch'), Action: 'kms:GenerateDataKey*', Resource: '*', Condition: { 'ForAllValues:StringLike': { 'kms:EncryptionContextKeys': ['job*', 'batch*'] } } },
    { Sid: 'BusinessHours', Effect: 'Allow', Principal: role('Temp'), Action: 'kms:Decrypt', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } },
    { Sid: 'Auditors', Effect: 'Allow', Principal: role('Auditor'), Action: ['kms:Describe*', 'kms:Get*', 'kms:List*'], Resource: '*', Condition: { StringLike: { 'aws:userid': '*:audit-*' } } },
    { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: root, Action: 'kms:*', Resource: '*' },
  ];
  return JSON.stringify({ Version: '2012-10-17', Id: 'bench-10', Statement: statements });
}
