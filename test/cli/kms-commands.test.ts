// `ebsim kms` is derived from the KMS declarations: one command per declared operation, one flag
// per member, the declaration's description and help, values parsed by member kind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Member } from '../../src/api/index.js';
import { kebab } from '../../src/cli/input.js';
import { KMS_OPERATIONS } from '../../src/kms/index.js';
import { ebsimIn } from '../helpers/cli.js';

let home: string;
async function ebsim(...args: string[]) {
  return ebsimIn(home, args);
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'ebsim-kms-cli-'));
  expect((await ebsim('init')).code).toBe(0);
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('ebsim kms, from the declarations', () => {
  it('lists every declared operation with its description', async () => {
    const help = await ebsim('kms', '--help');
    const text = help.stdout + help.stderr;
    for (const op of KMS_OPERATIONS) {
      expect(text).toContain(kebab(op.name));
      expect(text).toContain(op.description.slice(0, 30));
    }
  });

  it('each command has a flag per member, with the member\'s help', async () => {
    for (const op of KMS_OPERATIONS.filter((o) => ['CreateGrant', 'Decrypt', 'CreateKey'].includes(o.name))) {
      const help = await ebsim('kms', kebab(op.name), '--help');
      const text = help.stdout + help.stderr;
      for (const [name, m] of Object.entries(op.input as Record<string, Member>)) {
        expect(text).toContain(`--${kebab(name)}`);
        if (m.doc) expect(text).toContain(m.doc.slice(0, 20));
      }
    }
  });

  it('parses values by member kind: lists, structures, JSON lists of structures, integers', async () => {
    const key = JSON.parse((await ebsim('kms', 'create-key', '--tags', '[{"TagKey":"team","TagValue":"blue"}]')).stdout).KeyMetadata.KeyId as string;
    const grant = await ebsim('kms', 'create-grant', '--key-id', key, '--grantee-principal', 'arn:aws:iam::123456789012:user/Alice', '--operations', 'Decrypt', 'Encrypt', '--constraints', 'EncryptionContextSubset={a=b}');
    expect(grant.code).toBe(0);
    const list = JSON.parse((await ebsim('kms', 'list-grants', '--key-id', key, '--limit', '1')).stdout);
    expect(list.Grants[0]).toMatchObject({ Operations: ['Decrypt', 'Encrypt'], Constraints: { EncryptionContextSubset: { a: 'b' } } });
    const bad = await ebsim('kms', 'create-grant', '--key-id', key, '--grantee-principal', 'arn:aws:iam::123456789012:user/Alice', '--operations', 'Fly');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("at 'operations.1.member' failed to satisfy constraint: Member must satisfy enum value set");
  });
});
