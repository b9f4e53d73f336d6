// The IAM and STS declarations against AWS's own models, as test/kms/model.test.ts does for KMS:
// member names, kinds, required members, secrecy and enums against the schemas the AWS SDK for
// JavaScript ships (@aws-sdk/client-iam, client-sts); bounds and patterns against the JSON model
// the AWS CLI's botocore ships (the SDK's schema carries no bounds).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as iamSdk from '@aws-sdk/client-iam';
import * as stsSdk from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import type { Member, Members } from '../../src/api/index.js';
import { IAM_OPERATIONS, STS_OPERATIONS } from '../../src/iam/operations/index.js';
import { checkAgainstModel, type AwsModel } from '../helpers/aws-model.js';
import { compareWithSdk, sdkShape, type SdkShape } from '../helpers/sdk-schema.js';

/** Where the model leaves a member optional and ebsim requires it. */
const REQUIRED_BY_SERVICE = new Set([
  // AWS creates a key for the caller when UserName is left out; ebsim asks whose key it is.
  'CreateAccessKey.UserName',
]);

/** Bounds ebsim sets differently from the model, and why. */
const SERVICE_BOUNDS: Record<string, { min?: number; max?: number }> = {
  // ebsim's AssumeRole also takes a bare role name ("Auditor"), shorter than any ARN.
  'AssumeRole.RoleArn': { min: undefined },
};
/** Patterns ebsim does not check, and why. */
const NO_PATTERN = new Set([
  // The model's RoleArn pattern is "any printable Unicode"; a JS regex of it adds nothing.
  'AssumeRole.RoleArn',
]);

/** The model's enum behind each declared enum, named as the SDK exports it. */
const ENUMS: Record<string, [Record<string, unknown>, string]> = {
  'ListPolicies.Scope': [iamSdk as unknown as Record<string, unknown>, 'PolicyScopeType'],
};

/**
 * botocore's model of `service`: the one next to the `aws` on PATH (it may be gzipped), else
 * Debian's AWS CLI's. The first found wins: the AWS CLI a user runs is the one to agree with.
 */
function jsonModel(service: string): AwsModel | undefined {
  const dirs: string[] = [];
  try {
    dirs.push(execFileSync('python3', ['-c', 'import botocore, os; print(os.path.dirname(botocore.__file__))'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no python botocore
  }
  dirs.push('/usr/lib/python3/dist-packages/awscli/botocore', '/usr/lib/python3/dist-packages/botocore');
  for (const d of dirs) {
    const dir = join(d, 'data', service);
    if (!existsSync(dir)) continue;
    const version = readdirSync(dir).filter((v) => /^\d{4}-\d\d-\d\d$/.test(v)).sort().pop();
    const base = version && join(dir, version, 'service-2.json');
    if (base && existsSync(base)) return JSON.parse(readFileSync(base, 'utf8')) as AwsModel;
    if (base && existsSync(`${base}.gz`)) return JSON.parse(gunzipSync(readFileSync(`${base}.gz`)).toString('utf8')) as AwsModel;
  }
  return undefined;
}

const services = [
  ['IAM', IAM_OPERATIONS, iamSdk as unknown as Record<string, unknown>, jsonModel('iam')],
  ['STS', STS_OPERATIONS, stsSdk as unknown as Record<string, unknown>, jsonModel('sts')],
] as const;

describe.each(services)('%s declarations against the SDK model', (_name, operations, sdk) => {
  it('every declared operation is an operation of the service', () => {
    expect(operations.filter((op) => !(`${op.name}Command` in sdk) || !(`${op.name}Request$` in sdk)).map((op) => op.name)).toEqual([]);
  });

  it('member names, kinds, required members and secrecy match', () => {
    const problems = operations.flatMap((op) =>
      compareWithSdk(op as { name: string; input: Record<string, Member> }, sdkShape(sdk[`${op.name}Request$`]) as Extract<SdkShape, { kind: 'structure' }>, REQUIRED_BY_SERVICE),
    );
    expect(problems).toEqual([]);
  });

  it('declared enums are the model enums', () => {
    const problems: string[] = [];
    for (const op of operations) {
      for (const [name, m] of Object.entries(op.input as Members)) {
        if (m.kind !== 'string' || !m.enum) continue;
        const path = `${op.name}.${name}`;
        const e = ENUMS[path];
        if (!e) {
          problems.push(`${path}: which model enum? (add it to ENUMS)`);
          continue;
        }
        const values = Object.values(e[0][e[1]] as Record<string, string>).sort();
        if (JSON.stringify([...m.enum].sort()) !== JSON.stringify(values)) problems.push(`${path}: [${m.enum.join(', ')}] is not ${e[1]} [${values.join(', ')}]`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe.each(services)('%s declarations against the AWS CLI model', (_name, operations, _sdk, model) => {
  it.skipIf(!model)('names, kinds and required members (checkAgainstModel)', () => {
    expect(checkAgainstModel(model!, operations, [...REQUIRED_BY_SERVICE])).toEqual([]);
  });

  it.skipIf(!model)("bounds and patterns are the model's (or the service's, where it differs), inside lists and structures too", () => {
    const m = model as AwsModel & { shapes: Record<string, { min?: number; max?: number; pattern?: string; enum?: string[]; members?: Record<string, { shape: string }>; member?: { shape: string } }> };
    const problems: string[] = [];
    const check = (path: string, d: Member, shapeName: string) => {
      const s = m.shapes[shapeName]!;
      const service = SERVICE_BOUNDS[path] ?? {};
      const min = 'min' in d ? d.min : undefined;
      const max = 'max' in d ? d.max : undefined;
      const wantMin = 'min' in service ? service.min : s.min;
      const wantMax = 'max' in service ? service.max : s.max;
      if (wantMin !== min && !(wantMin === 0 && min === undefined)) problems.push(`${path}: min ${min}, model ${wantMin}`);
      if (wantMax !== max) problems.push(`${path}: max ${max}, model ${wantMax}`);
      if (d.kind === 'string' && !NO_PATTERN.has(path)) {
        const got = d.pattern?.source;
        if (s.pattern && got !== s.pattern && got !== `^${s.pattern}$`) problems.push(`${path}: pattern ${got}, model ${s.pattern}`);
        if (!s.pattern && got) problems.push(`${path}: pattern ${got}, the model has none`);
      }
      if (d.kind === 'string' && d.enum && JSON.stringify([...d.enum].sort()) !== JSON.stringify([...(s.enum ?? [])].sort())) problems.push(`${path}: enum [${d.enum.join(', ')}], model [${(s.enum ?? []).join(', ')}]`);
      if (d.kind === 'list' && s.member) check(`${path}[]`, d.member, s.member.shape);
      if (d.kind === 'structure') for (const [k, x] of Object.entries(d.members)) check(`${path}.${k}`, x, s.members![k]!.shape);
    };
    for (const op of operations) {
      const input = m.shapes[m.operations[op.name]!.input!.shape]!;
      for (const [name, d] of Object.entries(op.input as Members)) check(`${op.name}.${name}`, d, input.members![name]!.shape);
    }
    expect(problems).toEqual([]);
  });
});
