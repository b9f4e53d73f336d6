// `ebsim kms OPERATION`: every KMS operation with the AWS CLI's kebab-case names and flags,
// generated from the operations' parameter lists so the CLI can never drift from the domain.
import type { Argv } from 'yargs';
import { KMS_OPERATIONS } from '../../kms/service.js';
import type { Runtime } from '../runtime.js';
import { kebab, parseBlob, parseMap, parseStructure } from '../input.js';

type Kind = 'string' | 'number' | 'blob' | 'map' | 'list' | 'structure' | 'boolean';

const KINDS: Record<string, Kind> = {
  Plaintext: 'blob',
  CiphertextBlob: 'blob',
  EncryptionContext: 'map',
  SourceEncryptionContext: 'map',
  DestinationEncryptionContext: 'map',
  NumberOfBytes: 'number',
  PendingWindowInDays: 'number',
  RotationPeriodInDays: 'number',
  Limit: 'number',
  Operations: 'list',
  GrantTokens: 'list',
  Constraints: 'structure',
  Tags: 'structure',
  MultiRegion: 'boolean',
  BypassPolicyLockoutSafetyCheck: 'boolean',
  DryRun: 'boolean',
};

const DESCRIPTIONS: Record<string, string> = {
  CreateKey: 'Create a symmetric customer managed key',
  DescribeKey: 'Show a key\'s metadata',
  ListKeys: 'List the keys of the account and Region',
  CreateAlias: 'Give a customer managed key a friendly name',
  UpdateAlias: 'Point an alias at another key',
  DeleteAlias: 'Delete an alias',
  ListAliases: 'List aliases',
  EnableKey: 'Enable a key',
  DisableKey: 'Disable a key (cryptographic use fails with DisabledException)',
  ScheduleKeyDeletion: 'Delete a key after 7-30 days (state PendingDeletion)',
  CancelKeyDeletion: 'Cancel a scheduled deletion (the key stays Disabled)',
  EnableKeyRotation: 'Rotate the key material automatically',
  DisableKeyRotation: 'Stop automatic rotation',
  GetKeyRotationStatus: 'Is automatic rotation on?',
  RotateKeyOnDemand: 'Rotate the key material now (old ciphertexts still decrypt)',
  Encrypt: 'Encrypt up to 4 KiB under a key',
  Decrypt: 'Decrypt a ciphertext blob (the key is named inside it)',
  ReEncrypt: 'Decrypt and encrypt again under another key or context',
  GenerateDataKey: 'A data key: plaintext and encrypted copy',
  GenerateDataKeyWithoutPlaintext: 'A data key, encrypted copy only (what EC2 asks for an EBS volume)',
  GenerateRandom: 'Random bytes',
  CreateGrant: 'Let a principal use a key for some operations, optionally with constraints',
  ListGrants: 'List the live grants of a key',
  ListRetirableGrants: 'List the grants a principal may retire',
  RetireGrant: 'Retire a grant (by token, or key and grant ID)',
  RevokeGrant: 'Revoke a grant',
};

export function kmsCommand(y: Argv, rt: () => Runtime) {
  return y.command('kms', 'The simulated AWS KMS (same operations and flags as `aws kms`)', (c) => {
    for (const [name, op] of Object.entries(KMS_OPERATIONS)) {
      c.command(
        kebab(name),
        DESCRIPTIONS[name] ?? name,
        (o) => {
          for (const param of op.params) {
            const kind = KINDS[param] ?? 'string';
            o.option(kebab(param), {
              type: kind === 'number' ? 'number' : kind === 'boolean' ? 'boolean' : kind === 'list' ? 'array' : 'string',
              describe: describeKind(kind),
            });
          }
          return o;
        },
        (a) => {
          const r = rt();
          const params: Record<string, unknown> = {};
          for (const param of op.params) {
            const flag = kebab(param);
            const v = (a as Record<string, unknown>)[flag];
            if (v === undefined) continue;
            params[param] = convert(KINDS[param] ?? 'string', flag, v);
          }
          const result = r.open().kms().call(r.caller(), name, params);
          r.print(result);
        },
      );
    }
    return c.demandCommand(1, 'Name a kms operation (see --help)');
  });
}

function describeKind(kind: Kind): string {
  switch (kind) {
    case 'blob': return 'base64, or fileb://PATH for raw bytes';
    case 'map': return 'k=v,k2=v2 or JSON';
    case 'structure': return 'JSON, or EncryptionContextSubset={k=v}';
    case 'list': return 'space-separated values';
    default: return '';
  }
}

function convert(kind: Kind, flag: string, v: unknown): unknown {
  switch (kind) {
    case 'blob': return parseBlob(flag, String(v));
    case 'map': return parseMap(flag, String(v));
    case 'structure': return parseStructure(flag, String(v));
    case 'list': return (v as unknown[]).flatMap((x) => String(x).split(',')).filter(Boolean);
    default: return v;
  }
}
