// Imported key material, GetKeyLastUsage and the custom key store operations over the wire: the
// CLI (`ebsim kms …`, AWS CLI names, fileb:// blobs, an ISO 8601 --valid-to) and the HTTP
// endpoint with @aws-sdk/client-kms (ValidTo as the SDK sends a timestamp) and boto3. Each
// import is done as AWS documents it, and the imported material is checked independently: the
// ciphertext opens under it with @noble/ciphers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import {
  KMSClient, CreateKeyCommand, DecryptCommand, DeleteImportedKeyMaterialCommand, DescribeCustomKeyStoresCommand, DescribeKeyCommand,
  EncryptCommand, GetKeyLastUsageCommand, GetParametersForImportCommand, ImportKeyMaterialCommand, ListKeyRotationsCommand,
  ConnectCustomKeyStoreCommand, RotateKeyOnDemandCommand, ReEncryptCommand,
} from '@aws-sdk/client-kms';
import type { RunningServer } from '../../src/server/index.js';
import { aliceCredentials, hasBoto3, inProcess, newHome, removeHome, runBoto3, trailRecords } from '../server/helpers.js';
import { ebsimIn } from '../helpers/cli.js';
import { blobParts, wrapMaterial } from '../helpers/import-wrap.js';
import { awsTimestamp } from '../../src/cli/output.js';

let home: string;
let server: RunningServer;
let client: KMSClient;

beforeAll(async () => {
  home = newHome('ebsim-imports-wire-');
  server = await inProcess(home);
  client = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: aliceCredentials(home), maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await server?.close();
  if (home) removeHome(home);
});

const openWith = (material: Uint8Array, blob: Uint8Array) => {
  const { nonce, aad, sealed } = blobParts(blob);
  return Buffer.from(gcm(material, nonce, aad).decrypt(sealed)).toString();
};
async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { name: string }).name;
  }
  throw new Error('expected an error');
}

describe('the CLI (ebsim kms …)', () => {
  it('create-key --origin EXTERNAL, get-parameters-for-import, import-key-material with fileb:// blobs and --valid-to, encrypt, delete-imported-key-material', async () => {
    const cli = (...args: string[]) => ebsimIn(home, ['kms', ...args]);
    const created = await cli('create-key', '--origin', 'EXTERNAL', '--description', 'cli byok');
    expect(created.code).toBe(0);
    const key = created.json().KeyMetadata;
    expect(key).toMatchObject({ Origin: 'EXTERNAL', KeyState: 'PendingImport' });
    const params = await cli('get-parameters-for-import', '--key-id', key.KeyId, '--wrapping-algorithm', 'RSA_AES_KEY_WRAP_SHA_256', '--wrapping-key-spec', 'RSA_3072');
    expect(params.code).toBe(0);
    const p = params.json();
    const material = randomBytes(32);
    const tokenFile = join(home, 'token.bin');
    const materialFile = join(home, 'material.bin');
    writeFileSync(tokenFile, Buffer.from(p.ImportToken, 'base64'));
    writeFileSync(materialFile, wrapMaterial(Buffer.from(p.PublicKey, 'base64'), material, 'RSA_AES_KEY_WRAP_SHA_256'));
    const validTo = new Date(Date.now() + 7 * 86400_000);
    validTo.setUTCMilliseconds(0);
    const imported = await cli('import-key-material', '--key-id', key.Arn, '--import-token', `fileb://${tokenFile}`, '--encrypted-key-material', `fileb://${materialFile}`,
      '--valid-to', validTo.toISOString(), '--key-material-description', 'from the cli');
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json()).toEqual({ KeyId: key.Arn, KeyMaterialId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const described = (await cli('describe-key', '--key-id', key.KeyId)).json().KeyMetadata;
    expect(described).toMatchObject({ KeyState: 'Enabled', ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: awsTimestamp(validTo), CurrentKeyMaterialId: imported.json().KeyMaterialId });
    const blob = (await cli('encrypt', '--key-id', key.KeyId, '--plaintext', Buffer.from('cli!').toString('base64'))).json().CiphertextBlob;
    expect(openWith(material, Buffer.from(blob, 'base64'))).toBe('cli!');
    const usage = (await cli('get-key-last-usage', '--key-id', key.KeyId)).json();
    expect(usage.KeyLastUsage.Operation).toBe('Encrypt');
    // Errors keep AWS's names at the CLI, too.
    const again = await cli('import-key-material', '--key-id', key.KeyId, '--import-token', `fileb://${tokenFile}`, '--encrypted-key-material', Buffer.from('garbage-garbage').toString('base64'),
      '--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('InvalidCiphertextException');
    expect((await cli('delete-imported-key-material', '--key-id', key.KeyId)).json().KeyMaterialId).toBe(imported.json().KeyMaterialId);
    expect((await cli('describe-key', '--key-id', key.KeyId)).json().KeyMetadata.KeyState).toBe('PendingImport');
    const stores = await cli('describe-custom-key-stores');
    expect(stores.json()).toEqual({ CustomKeyStores: [] }); // every page, as the AWS CLI prints a list: no Truncated
    const connect = await cli('connect-custom-key-store', '--custom-key-store-id', 'cks-1234567890abcdef0');
    expect(connect.stderr).toContain('CustomKeyStoreNotFoundException');
  });
});

describe('@aws-sdk/client-kms over HTTP', () => {
  it('the documented import round trip, RSAES_OAEP_SHA_256: ValidTo sent as the SDK sends timestamps', async () => {
    const key = (await client.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!;
    expect(key.KeyState).toBe('PendingImport');
    const p = await client.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    expect(p.KeyId).toBe(key.Arn);
    expect(p.ParametersValidTo).toBeInstanceOf(Date);
    const material = randomBytes(32);
    const validTo = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
    const imported = await client.send(new ImportKeyMaterialCommand({
      KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapMaterial(p.PublicKey!, material, 'RSAES_OAEP_SHA_256'), ExpirationModel: 'KEY_MATERIAL_EXPIRES', ValidTo: validTo,
    }));
    expect(imported.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    const meta = (await client.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
    expect(meta).toMatchObject({ KeyState: 'Enabled', Origin: 'EXTERNAL', ExpirationModel: 'KEY_MATERIAL_EXPIRES', CurrentKeyMaterialId: imported.KeyMaterialId });
    expect(meta.ValidTo).toEqual(validTo);
    const enc = await client.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('sdk!') }));
    expect(openWith(material, enc.CiphertextBlob!)).toBe('sdk!');
    const dec = await client.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
    expect([Buffer.from(dec.Plaintext!).toString(), dec.KeyMaterialId]).toEqual(['sdk!', imported.KeyMaterialId]);

    // New material, rotated in on demand; ReEncrypt names both materials.
    const p2 = await client.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: 'RSA_AES_KEY_WRAP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    const second = randomBytes(32);
    const next = await client.send(new ImportKeyMaterialCommand({
      KeyId: key.KeyId, ImportToken: p2.ImportToken, EncryptedKeyMaterial: wrapMaterial(p2.PublicKey!, second, 'RSA_AES_KEY_WRAP_SHA_256'),
      ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ImportType: 'NEW_KEY_MATERIAL', KeyMaterialDescription: 'second',
    }));
    const listed = (await client.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' }))).Rotations!;
    expect(listed.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.ImportState])).toEqual([
      [imported.KeyMaterialId, 'CURRENT', 'IMPORTED'], [next.KeyMaterialId, 'PENDING_ROTATION', 'IMPORTED'],
    ]);
    expect(listed[0]!.ValidTo).toEqual(validTo);
    await client.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const re = await client.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: key.KeyId }));
    expect([re.SourceKeyMaterialId, re.DestinationKeyMaterialId]).toEqual([imported.KeyMaterialId, next.KeyMaterialId]);
    expect(openWith(second, re.CiphertextBlob!)).toBe('sdk!');

    const usage = await client.send(new GetKeyLastUsageCommand({ KeyId: key.Arn }));
    expect(usage.KeyLastUsage).toMatchObject({ Operation: 'ReEncrypt' });
    expect(usage.KeyLastUsage!.Timestamp).toBeInstanceOf(Date);
    expect(usage.KeyCreationDate).toEqual(key.CreationDate);

    const deleted = await client.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: imported.KeyMaterialId }));
    expect(deleted).toMatchObject({ KeyId: key.Arn, KeyMaterialId: imported.KeyMaterialId });
    expect((await client.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState).toBe('PendingImport');
  });

  it('each error by its AWS name', async () => {
    const [key, other] = await Promise.all([0, 1].map(async () => (await client.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!));
    const own = (await client.send(new CreateKeyCommand({}))).KeyMetadata!;
    const p = await client.send(new GetParametersForImportCommand({ KeyId: key!.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' }));
    const importInto = (KeyId: string, EncryptedKeyMaterial: Uint8Array, extra: Partial<ConstructorParameters<typeof ImportKeyMaterialCommand>[0]> = {}) =>
      client.send(new ImportKeyMaterialCommand({ KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE', ...extra }));
    const good = wrapMaterial(p.PublicKey!, randomBytes(32), 'RSAES_OAEP_SHA_1');
    expect(await errorName(client.send(new GetParametersForImportCommand({ KeyId: own!.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })))).toBe('UnsupportedOperationException');
    expect(await errorName(importInto(other!.KeyId!, good))).toBe('InvalidImportTokenException');
    expect(await errorName(importInto(key!.KeyId!, wrapMaterial(p.PublicKey!, randomBytes(32), 'RSAES_OAEP_SHA_256')))).toBe('InvalidCiphertextException');
    expect(await errorName(importInto(key!.KeyId!, wrapMaterial(p.PublicKey!, randomBytes(24), 'RSAES_OAEP_SHA_1')))).toBe('IncorrectKeyMaterialException');
    expect(await errorName(importInto(key!.KeyId!, good, { ExpirationModel: 'KEY_MATERIAL_EXPIRES' }))).toBe('ValidationException');
    expect(await errorName(client.send(new EncryptCommand({ KeyId: key!.KeyId, Plaintext: Buffer.from('x') })))).toBe('KMSInvalidStateException');
    expect(await errorName(client.send(new GetKeyLastUsageCommand({ KeyId: 'alias/nothing' })))).toBe('InvalidArnException');
    expect(await errorName(client.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: 'cks-1234567890abcdef0' })))).toBe('CustomKeyStoreNotFoundException');
    expect((await client.send(new DescribeCustomKeyStoresCommand({}))).CustomKeyStores).toEqual([]);
    expect(await errorName(client.send(new CreateKeyCommand({ Origin: 'AWS_CLOUDHSM', CustomKeyStoreId: 'cks-1234567890abcdef0' })))).toBe('CustomKeyStoreNotFoundException');
    // The expired token, with the server's clock moved on a day (the client signing at the real time).
    const realNow = Date.now;
    const dayOn = 24 * 3600_000 + 1000;
    const laggard = new KMSClient({ endpoint: server.url, region: 'us-east-1', credentials: aliceCredentials(home), maxAttempts: 1, systemClockOffset: -dayOn });
    Date.now = () => realNow() + dayOn;
    try {
      const late = laggard.send(new ImportKeyMaterialCommand({ KeyId: key!.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: good, ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
      expect(await errorName(late)).toBe('ExpiredImportTokenException');
    } finally {
      Date.now = realNow;
      laggard.destroy();
    }
    expect((await importInto(key!.KeyId!, good)).KeyId).toBe(key!.Arn);
    // The trail has neither the token nor the wrapped material.
    const text = JSON.stringify(trailRecords(home, 'ImportKeyMaterial'));
    expect(text).not.toContain(Buffer.from(p.ImportToken!).toString('base64').slice(0, 24));
    expect(text).not.toContain(Buffer.from(good).toString('base64').slice(0, 24));
  });
});

describe.skipIf(!hasBoto3())('boto3 over HTTP', () => {
  it('imports key material as the Developer Guide\'s Python example does, and uses it', async () => {
    const script = join(home, 'import.py');
    writeFileSync(
      script,
      `import sys, json, os, datetime, boto3
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
kms = boto3.Session(profile_name='ebsim', region_name='us-east-1').client('kms', endpoint_url=sys.argv[1])
out = {}
key = kms.create_key(Origin='EXTERNAL')['KeyMetadata']
material = os.urandom(32)
oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
for alg in ['RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_256']:
    p = kms.get_parameters_for_import(KeyId=key['KeyId'], WrappingAlgorithm=alg, WrappingKeySpec='RSA_2048')
    public = serialization.load_der_public_key(p['PublicKey'])
    if alg == 'RSAES_OAEP_SHA_256':
        wrapped = public.encrypt(material, oaep)
    else:
        aes = os.urandom(32)
        wrapped = public.encrypt(aes, oaep) + aes_key_wrap_with_padding(aes, material)
    valid_to = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    r = kms.import_key_material(KeyId=key['KeyId'], ImportToken=p['ImportToken'], EncryptedKeyMaterial=wrapped, ExpirationModel='KEY_MATERIAL_EXPIRES', ValidTo=valid_to)
    out[alg] = r['KeyMaterialId']
meta = kms.describe_key(KeyId=key['KeyId'])['KeyMetadata']
out['state'] = meta['KeyState']
out['model'] = meta['ExpirationModel']
out['current'] = meta['CurrentKeyMaterialId']
blob = kms.encrypt(KeyId=key['KeyId'], Plaintext=b'boto3!')['CiphertextBlob']
out['blob'] = blob.hex()
out['material'] = material.hex()
out['plain'] = kms.decrypt(CiphertextBlob=blob)['Plaintext'].decode()
out['last'] = kms.get_key_last_usage(KeyId=key['KeyId'])['KeyLastUsage']['Operation']
try:
    kms.import_key_material(KeyId=key['KeyId'], ImportToken=b'not a token', EncryptedKeyMaterial=b'x' * 256, ExpirationModel='KEY_MATERIAL_DOES_NOT_EXPIRE')
    out['error'] = None
except ClientError as e:
    out['error'] = e.response['Error']['Code']
print(json.dumps(out))
`,
    );
    const r = JSON.parse(await runBoto3(home, script, [server.url]));
    expect(r.RSAES_OAEP_SHA_256).toMatch(/^[0-9a-f]{64}$/);
    // Reimporting the same material under the other algorithm is the same material.
    expect(r.RSA_AES_KEY_WRAP_SHA_256).toBe(r.RSAES_OAEP_SHA_256);
    expect(r).toMatchObject({ state: 'Enabled', model: 'KEY_MATERIAL_EXPIRES', current: r.RSAES_OAEP_SHA_256, plain: 'boto3!', last: 'Decrypt', error: 'InvalidImportTokenException' });
    expect(openWith(Buffer.from(r.material, 'hex'), Buffer.from(r.blob, 'hex'))).toBe('boto3!');
  });
});
