// Every KMS declaration against AWS's own model, so nothing in src/kms/operations is copied by
// hand without a check: member names, kinds, required members, secrecy and enums against the
// schema the AWS SDK for JavaScript ships (@aws-sdk/client-kms), bounds and patterns against the
// JSON model the AWS CLI's botocore ships (the SDK's schema carries no bounds).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as sdk from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import type { Member } from '../../src/api/index.js';
import { KMS_OPERATIONS } from '../../src/kms/index.js';
import { KmsFacts } from '../../src/kms/operation.js';
import { makeHome } from '../helpers/home.js';
import { compareWithSdk, sdkShape, type SdkShape } from '../helpers/sdk-schema.js';

// ---- the SDK's schema ----------------------------------------------------------------------

const exported = sdk as unknown as Record<string, unknown>;
const require = createRequire(import.meta.url);
const requestOf = (op: string) => sdkShape(exported[`${op}Request$`]) as Extract<SdkShape, { kind: 'structure' }>;

/** Where the model leaves a member optional and the service requires it (AWS's answer is the same ValidationException). */
const REQUIRED_BY_SERVICE = new Set(['Decrypt.CiphertextBlob', 'ReEncrypt.CiphertextBlob', 'CreateGrant.GranteePrincipal', 'ListRetirableGrants.RetiringPrincipal']);

/** The model's enum behind each declared enum, named as the SDK exports it. */
const ENUMS: Record<string, string> = {
  'CreateKey.KeyUsage': 'KeyUsageType',
  'CreateKey.KeySpec': 'KeySpec',
  'CreateKey.CustomerMasterKeySpec': 'CustomerMasterKeySpec',
  'CreateKey.Origin': 'OriginType',
  EncryptionAlgorithm: 'EncryptionAlgorithmSpec',
  SourceEncryptionAlgorithm: 'EncryptionAlgorithmSpec',
  DestinationEncryptionAlgorithm: 'EncryptionAlgorithmSpec',
  'GenerateDataKey.KeySpec': 'DataKeySpec',
  'GenerateDataKeyWithoutPlaintext.KeySpec': 'DataKeySpec',
  'CreateGrant.Operations.member': 'GrantOperation',
  'GenerateRandom.Recipient.KeyEncryptionAlgorithm': 'KeyEncryptionMechanism',
  'ListKeyRotations.IncludeKeyMaterial': 'IncludeKeyMaterial',
  MacAlgorithm: 'MacAlgorithmSpec',
  KeyAgreementAlgorithm: 'KeyAgreementAlgorithmSpec',
  EncapsulationAlgorithm: 'EncapsulationAlgorithmSpec',
  KeyPairSpec: 'DataKeyPairSpec',
  'Recipient.KeyEncryptionAlgorithm': 'KeyEncryptionMechanism',
  SigningAlgorithm: 'SigningAlgorithmSpec',
  MessageType: 'MessageType',
  'GetParametersForImport.WrappingAlgorithm': 'AlgorithmSpec',
  'GetParametersForImport.WrappingKeySpec': 'WrappingKeySpec',
  'ImportKeyMaterial.ExpirationModel': 'ExpirationModelType',
  'ImportKeyMaterial.ImportType': 'ImportType',
  'CreateCustomKeyStore.CustomKeyStoreType': 'CustomKeyStoreType',
  XksProxyConnectivity: 'XksProxyConnectivityType',
};

interface Walked {
  path: string;
  member: Member;
}

/** Every declared member, nested ones included, with its path ("CreateGrant.Constraints.EncryptionContextSubset"). */
function walk(prefix: string, m: Member): Walked[] {
  const here = [{ path: prefix, member: m }];
  if (m.kind === 'list') return here.concat(walk(`${prefix}.member`, m.member));
  if (m.kind === 'map') return here.concat(walk(`${prefix}.value`, m.value));
  if (m.kind === 'structure') return here.concat(Object.entries(m.members).flatMap(([k, x]) => walk(`${prefix}.${k}`, x)));
  return here;
}

describe('KMS declarations against the SDK model', () => {
  it('every declared operation is an operation of AWS KMS', () => {
    const missing = KMS_OPERATIONS.filter((op) => !(`${op.name}Command` in exported) || !(`${op.name}Request$` in exported)).map((op) => op.name);
    expect(missing).toEqual([]);
    expect(KMS_OPERATIONS.length).toBeGreaterThan(20);
  });

  it('member names, kinds, required members and secrecy match', () => {
    const problems: string[] = [];
    for (const op of KMS_OPERATIONS) problems.push(...compareWithSdk(op as { name: string; input: Record<string, Member> }, requestOf(op.name), REQUIRED_BY_SERVICE));
    expect(problems).toEqual([]);
  });

  it('declared enums are the model enums', () => {
    const problems: string[] = [];
    for (const op of KMS_OPERATIONS) {
      for (const { path, member } of Object.entries(op.input as Record<string, Member>).flatMap(([n, m]) => walk(`${op.name}.${n}`, m))) {
        if (member.kind !== 'string' || !member.enum) continue;
        const enumName = ENUMS[path] ?? ENUMS[path.slice(op.name.length + 1)];
        if (!enumName) {
          problems.push(`${path}: which model enum? (add it to ENUMS)`);
          continue;
        }
        const values = Object.values(exported[enumName] as Record<string, string>).sort();
        if (JSON.stringify([...member.enum].sort()) !== JSON.stringify(values)) problems.push(`${path}: [${member.enum.join(', ')}] is not ${enumName} [${values.join(', ')}]`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('which operations take an alias, as the SDK model documents each KeyId', () => {
  // The SDK ships the API reference's text: "To specify a KMS key, use its key ID, key ARN, alias
  // name, or alias ARN" where aliases are accepted, "Specify the key ID or key ARN" where not.
  const dts = readFileSync(join(dirname(require.resolve('@aws-sdk/client-kms')), '../dist-types/models/models_0.d.ts'), 'utf8');
  const keyIdDoc = (op: string): string | undefined => {
    const body = new RegExp(`export interface ${op}Request \\{([\\s\\S]*?)\\n\\}`).exec(dts)?.[1];
    return body && /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*\n\s+KeyId\??:/.exec(body)?.[1];
  };
  const facts = new KmsFacts(KMS_OPERATIONS);

  it('an operation refuses aliases exactly when AWS documents its KeyId as key ID or key ARN only', () => {
    const checked: string[] = [];
    for (const op of KMS_OPERATIONS) {
      const doc = keyIdDoc(op.name);
      // An optional KeyId (ListAliases's filter, RetireGrant's) is resolved in the run, without aliases.
      if (!doc || !('KeyId' in op.input) || op.name === 'ListAliases' || op.name === 'RetireGrant') continue;
      // Some members (GenerateMac's, VerifyMac's) say neither: their API reference pages allow aliases.
      if (!/alias name|Specify the key ID or key ARN/.test(doc)) continue;
      const awsTakesAlias = /alias name/.test(doc);
      expect({ op: op.name, refusesAlias: facts.keyIdOnly(op.name) }).toEqual({ op: op.name, refusesAlias: !awsTakesAlias });
      checked.push(op.name);
    }
    expect(checked).toEqual(expect.arrayContaining(['EnableKey', 'DisableKey', 'ScheduleKeyDeletion', 'EnableKeyRotation', 'RotateKeyOnDemand', 'Encrypt', 'DescribeKey']));
  });
});

describe('key policy operations against the SDK model', () => {
  const responseOf = (op: string) => sdkShape(exported[`${op}Response$`]) as Extract<SdkShape, { kind: 'structure' }>;

  it('GetKeyPolicy, PutKeyPolicy and ListKeyPolicies are declared, and Policy is logged (not sensitive in the model, not secret here)', () => {
    for (const name of ['GetKeyPolicy', 'PutKeyPolicy', 'ListKeyPolicies']) expect(KMS_OPERATIONS.map((o) => o.name)).toContain(name);
    for (const op of ['PutKeyPolicy', 'CreateKey']) {
      expect(requestOf(op).members.Policy!.sensitive).toBe(false);
      const declared = KMS_OPERATIONS.find((o) => o.name === op)!.input as Record<string, Member>;
      expect(declared.Policy!.secret).toBeFalsy();
    }
  });

  it('their responses use the model\'s output members', () => {
    const h = makeHome('ebsim-model-');
    try {
      const kms = h.app.kms();
      const alice = h.app.as('Alice');
      const keyId = (kms.call(alice, 'CreateKey', {}).KeyMetadata as { KeyId: string }).KeyId;
      const answers: Record<string, Record<string, unknown>> = {
        GetKeyPolicy: kms.call(alice, 'GetKeyPolicy', { KeyId: keyId }),
        ListKeyPolicies: kms.call(alice, 'ListKeyPolicies', { KeyId: keyId }),
        PutKeyPolicy: kms.call(alice, 'PutKeyPolicy', { KeyId: keyId, Policy: kms.call(alice, 'GetKeyPolicy', { KeyId: keyId }).Policy }),
      };
      for (const [op, answer] of Object.entries(answers)) {
        const members = op === 'PutKeyPolicy' ? [] : Object.keys(responseOf(op).members);
        expect(Object.keys(answer).filter((k) => !members.includes(k)), op).toEqual([]);
      }
      expect(Object.keys(answers.GetKeyPolicy!).sort()).toEqual(Object.keys(responseOf('GetKeyPolicy').members).sort());
    } finally {
      h.cleanup();
    }
  });
});

// ---- the JSON model (bounds, patterns, enums by shape) -------------------------------------

interface JsonShape {
  type: string;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  members?: Record<string, { shape: string }>;
  member?: { shape: string };
  value?: { shape: string };
}

/** botocore's KMS model: the one next to the `aws` on PATH, else Debian's AWS CLI's. The newest (most operations) wins. */
function jsonModel(): { shapes: Record<string, JsonShape>; operations: Record<string, { input?: { shape: string } }> } | undefined {
  const dirs: string[] = [];
  try {
    dirs.push(execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no python botocore
  }
  dirs.push('/usr/lib/python3/dist-packages/awscli/botocore', '/usr/lib/python3/dist-packages/botocore');
  const models = dirs.flatMap((d) => {
    const base = join(d, 'data', 'kms', '2014-11-01', 'service-2.json');
    if (existsSync(base)) return [JSON.parse(readFileSync(base, 'utf8'))];
    if (existsSync(`${base}.gz`)) return [JSON.parse(gunzipSync(readFileSync(`${base}.gz`)).toString('utf8'))];
    return [];
  });
  return models.sort((a, b) => Object.keys(b.operations).length - Object.keys(a.operations).length)[0];
}

const model = jsonModel();

/** Bounds ebsim enforces more tightly than the model, as the service does. */
const SERVICE_BOUNDS: Record<string, { min?: number; max?: number }> = {
  'ScheduleKeyDeletion.PendingWindowInDays': { min: 7, max: 30 },
  'CreateGrant.Operations': { min: 1 },
  // ListResourceTags: "it must be between 1 and 50, inclusive" (the model's LimitType says 1000).
  'ListResourceTags.Limit': { max: 50 },
};

// A botocore older than ebsim's newest operations (Encapsulate, Decapsulate came in 2025) still
// checks every operation and member it has.
describe.skipIf(!model)('KMS declarations against the AWS CLI model', () => {
  const shapes = model!.shapes;

  function check(path: string, m: Member, shapeName: string, problems: string[]): void {
    const s = shapes[shapeName]!;
    const service = SERVICE_BOUNDS[path] ?? {};
    const min = 'min' in m ? m.min : undefined;
    const max = 'max' in m ? m.max : undefined;
    if ((service.min ?? s.min) !== min && !(s.min === 0 && min === undefined && m.kind === 'list')) problems.push(`${path}: min ${min}, model ${s.min}`);
    if ((service.max ?? s.max) !== max) problems.push(`${path}: max ${max}, model ${s.max}`);
    if (m.kind === 'string') {
      if (m.pattern && m.pattern.source !== s.pattern && m.pattern.source !== `^${s.pattern}$`) problems.push(`${path}: pattern ${m.pattern.source}, model ${s.pattern}`);
      if (s.enum && !m.enum) problems.push(`${path}: the model has an enum [${s.enum.join(', ')}]`);
    }
    if (m.kind === 'list') check(`${path}.member`, m.member, s.member!.shape, problems);
    if (m.kind === 'structure') for (const [k, x] of Object.entries(m.members)) check(`${path}.${k}`, x, s.members![k]!.shape, problems);
  }

  it('bounds and patterns are the model\'s (or the service\'s, where it is stricter)', () => {
    const problems: string[] = [];
    for (const op of KMS_OPERATIONS.filter((o) => o.name in model!.operations)) {
      const input = shapes[model!.operations[op.name]!.input!.shape]!;
      for (const [name, m] of Object.entries(op.input as Record<string, Member>)) {
        if (m.check || !(name in input.members!)) continue; // a domain check (encryption context) stands for the generic one
        check(`${op.name}.${name}`, m, input.members![name]!.shape, problems);
      }
    }
    expect(problems).toEqual([]);
  });
});
