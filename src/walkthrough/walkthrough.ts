// `ebsim walkthrough`: replays the seed in a fresh home, explaining each call and showing its
// CloudTrail record beside the seed's; then mounts the volume and teaches by failure. It exits
// non-zero if any step does not behave as taught, so it doubles as an end-to-end test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { initHome, openEbsim, type Ebsim } from '../app/ebsim.js';
import { AwsError } from '../errors/index.js';
import { allRecords, type TrailRecord } from '../trail/index.js';
import { findMissingPrerequisite } from '../device/index.js';
import { compareWithSeed, seedRecords } from './seed.js';
import { helloBytes, MARKER, sectorViews, tweakBytes, writeAndLocate, type LocatedFile } from './evidence.js';
import { proveAbsentFromImage, proveIndependentDecryption, proveSectorIsCiphertext, proveTweakSeparatesSectors } from './proofs.js';
import { sideBySide } from './format.js';

export interface WalkthroughOptions {
  home?: string;
  step?: boolean;
  out?: (text: string) => void;
}

export interface WalkthroughResult {
  home: string;
  failures: string[];
  mounted: boolean;
}

export async function runWalkthrough(opts: WalkthroughOptions = {}): Promise<WalkthroughResult> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t + '\n'));
  const temporary = !opts.home;
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'ebsim-walkthrough-'));
  const failures: string[] = [];
  const interactive = Boolean(opts.step && process.stdin.isTTY);
  const rl = interactive ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
  const seed = seedRecords();
  let app: Ebsim | undefined;
  let mountedVolume: string | undefined;
  let seen = 0;

  const pause = async () => {
    if (rl) await rl.question('\n  [Enter] next step ');
  };
  const say = (title: string, text: string) => out(`\n== ${title} ==\n${text.replace(/^\s+/gm, '').trim()}`);
  const check = (what: string, ok: boolean) => {
    out(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
    if (!ok) failures.push(what);
  };
  const newRecords = (): TrailRecord[] => {
    app!.trail.flush();
    const all = allRecords(app!.db);
    const fresh = all.slice(seen);
    seen = all.length;
    return fresh;
  };
  /** A record, beside the seed's record of the same call when `withSeed` (the seed's calls are its roles'; a lesson's may be another caller's). */
  const showRecord = (r: TrailRecord, withSeed = true) => {
    out(`\n  CloudTrail: ${r.eventName} by ${r.userIdentity.arn as string}${r.userIdentity.invokedBy ? ` (invokedBy ${r.userIdentity.invokedBy as string})` : ''}${r.errorCode ? `  -> ${r.errorCode}` : ''}`);
    out(JSON.stringify(r, null, 2).split('\n').map((l) => '    ' + l).join('\n'));
    const s = withSeed ? seed.find((x) => x.eventName === r.eventName) : undefined;
    if (s) {
      out(`\n  The seed's ${r.eventName} record (AWS, 2014), for comparison:`);
      out(JSON.stringify(s, null, 2).split('\n').map((l) => '    ' + l).join('\n'));
      const c = compareWithSeed(r, s);
      out(`  beside the seed's ${r.eventName} record: ${c.missing.length === 0 ? 'every field of the seed is here' : `missing ${c.missing.join(', ')}`}` +
        `${c.extra.length ? `; extra: ${c.extra.join(', ')}` : ''}`);
      out(`  values that differ (IDs, times, addresses are ours): ${c.differingValues.slice(0, 8).join(', ')}${c.differingValues.length > 8 ? ', …' : ''}`);
      if (r.eventSource === 'kms.amazonaws.com') check(`${r.eventName} record has every field of the seed's`, c.missing.length === 0);
    }
  };
  const expectError = (what: string, code: string, fn: () => unknown) => {
    try {
      fn();
      check(`${what} is refused with ${code}`, false);
    } catch (err) {
      const got = err instanceof AwsError ? err.code : String(err);
      out(`  ${got}: ${(err as Error).message}`);
      check(`${what} is refused with ${code}`, got === code);
    }
  };

  const cleanup = async () => {
    if (mountedVolume && app) await app.host().unmount(mountedVolume).catch(() => {});
    if (app) await app.host().cleanup().catch(() => {});
    mountedVolume = undefined;
  };
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    say('1. An account and an IAM user', `A fresh ebsim home at ${home}: account 123456789012 and the IAM user Alice,
      with an access key in ${join(home, 'credentials')} (profile "ebsim") for the AWS CLI and SDKs.`);
    initHome(home);
    app = openEbsim(home);
    seen = allRecords(app.db).length;
    const alice = app.as('Alice');
    await pause();

    say('2. Alice launches an instance with an encrypted volume (RunInstances)', `Alice asks EC2 for an m3.medium with an 8 GiB
      encrypted volume at /dev/sdb, as in the seed. She names no key, so EC2 uses the AWS managed key alias/aws/ebs,
      which KMS creates on first use. Alice could not use that key directly: its policy allows it only through EC2.`);
    const run = app.ec2().runInstances(alice, {
      ImageId: 'ami-b66ed3de',
      InstanceType: 'm3.medium',
      BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 8, DeleteOnTermination: false, VolumeType: 'gp2', Encrypted: true } }],
    });
    const instance = (run.Instances as Record<string, any>[])[0]!;
    const volumeId = (instance.BlockDeviceMappings as { DeviceName: string; Ebs: { VolumeId: string } }[]).find((m) => m.DeviceName === '/dev/sdb')!.Ebs.VolumeId;
    const records = newRecords();
    check('the trail holds RunInstances, GenerateDataKeyWithoutPlaintext, CreateGrant, Decrypt in that order',
      JSON.stringify(records.map((r) => r.eventName)) === JSON.stringify(['RunInstances', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt']));
    const explain: Record<string, string> = {
      RunInstances: `EC2 records Alice's request. Instance ${instance.InstanceId as string}, volume ${volumeId}.`,
      GenerateDataKeyWithoutPlaintext: `EC2, for Alice ("invokedBy": "AWS Internal"), asks KMS for a 64-byte data key (two AES-256 keys: XTS needs
        both) encrypted under the CMK, bound to the encryption context {"aws:ebs:id": "${volumeId}"}. Only the encrypted copy
        comes back: EC2 stores it with the volume; the plaintext exists nowhere yet.`,
      CreateGrant: `EC2, again for Alice, lets the instance's infrastructure role decrypt that data key. The grantee
        "123456789012:aws:ec2-infrastructure:${instance.InstanceId as string}" is the role's session for this one instance,
        and the constraint encryptionContextSubset {"aws:ebs:id": "${volumeId}"} limits the grant to this one volume.
        The record shares RunInstances' requestID: one request of Alice's caused both.`,
      Decrypt: `The instance's host, as the assumed role aws:ec2-infrastructure/${instance.InstanceId as string}, decrypts the data
        key with the volume's context. The grant allows it; nothing else would: roles have no permissions of their own.`,
    };
    for (const r of records) {
      say(`   ${r.eventName}`, explain[r.eventName] ?? '');
      showRecord(r);
      await pause();
    }

    say('3. Mounting the volume', `Mounting plays the instance's host: it decrypts the data key again as the instance's role
      (no plaintext key is ever stored), serves the decrypted device over FUSE, attaches it with losetup and mounts ext4.`);
    const ec2 = app.ec2();
    const host = app.host();
    const missing = findMissingPrerequisite();
    let mounted = false;
    let files: LocatedFile[];
    if (!missing) {
      const mnt = join(home, 'mnt');
      await host.mount(alice, { volumeId, mountpoint: mnt, format: 'ext4' });
      mountedVolume = volumeId;
      mounted = true;
      files = writeAndLocate(mnt);
      out(`  mounted at ${mnt}; wrote hello.txt and tweak.bin; filefrag: hello.txt is in sector ${files[0]!.sectors.join(', ')}, tweak.bin in ${files[1]!.sectors.join(', ')}`);
      await host.unmount(volumeId);
      mountedVolume = undefined;
      out('  unmounted (everything flushed to the backing image)');
    } else {
      out(`  A real mount is not possible here (${missing.message}); using the in-process block device instead.`);
      files = [{ name: 'hello.txt', bytes: helloBytes(), sectors: [1000], how: 'written there' }, { name: 'tweak.bin', bytes: tweakBytes(), sectors: [2000, 2001], how: 'written there' }];
      for (const f of files) await host.write(alice, volumeId, f.sectors[0]! * 4096, f.bytes);
    }
    for (const r of newRecords()) showRecord(r);
    const key = host.dataKey(host.volume(volumeId))!;
    try {
      const image = { volumeId, imagePath: host.imagePath(volumeId), sizeBytes: host.sizeBytes(volumeId) };
      const [hello] = await sectorViews(image, key, files[0]!.sectors);
      const tweak = await sectorViews(image, key, files[1]!.sectors);
      check('ebsim\'s device reads the files\' bytes back at the sectors the file system named',
        hello!.plaintext.equals(files[0]!.bytes) && Buffer.concat(tweak.map((t) => t.plaintext)).equals(files[1]!.bytes));
      out(`\n  Sector ${hello!.sector} of ${image.imagePath}: on disk (left) and decrypted (right)`);
      out(sideBySide(hello!.onDisk, hello!.plaintext, 4));
      for (const p of [
        proveSectorIsCiphertext(hello!, Buffer.from(MARKER)),
        proveIndependentDecryption(key, hello!),
        proveTweakSeparatesSectors(tweak[0]!, tweak[1]!),
        proveAbsentFromImage(image.imagePath, [{ what: 'the marker', bytes: Buffer.from(MARKER) }]),
      ]) {
        check(p.claim, p.holds);
        out(`       ${p.detail}`);
      }
    } finally {
      key.fill(0);
    }
    newRecords();
    await pause();

    say('4. Lesson: the grant is scoped to the volume\'s encryption context', `The instance's role asks KMS to decrypt the volume's
      data key with another context. The grant's constraint does not match, so KMS refuses, and the trail says so.`);
    const hostContext = host.callContext(instance.InstanceId as string);
    const blob = host.volume(volumeId).encryptedDataKey!;
    expectError('Decrypt with the wrong encryption context', 'AccessDeniedException', () =>
      app!.kms().call(hostContext, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': 'vol-00000000000000000' } }));
    for (const r of newRecords()) showRecord(r);
    await pause();

    say('5. Lesson: Alice cannot decrypt her own volume\'s data key', `Alice launched the instance, so why not decrypt the data
      key herself? Because the key is AWS's managed key aws/ebs, and its key policy lets the account's principals use it only
      through EC2: a condition kms:ViaService = ec2.${alice.region}.amazonaws.com. EC2 calls with that value on her behalf; Alice
      calling KMS directly does not. Here is KMS's decision, statement by statement (ebsim's --explain):`);
    let why = '';
    expectError('Alice decrypting the data key herself', 'AccessDeniedException', () =>
      app!.kms().call({ ...alice, explain: (d) => (why += d.text) }, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': volumeId } }));
    out(why.split('\n').map((l) => '    ' + l).join('\n'));
    check('the refusal comes from the aws/ebs key policy\'s kms:ViaService condition',
      /Condition StringEquals kms:ViaService: request has \(absent\); policy wants ec2\.[\w-]+\.amazonaws\.com \(not met\)/.test(why));
    for (const r of newRecords()) showRecord(r, false);
    await pause();

    say('6. Lesson: revoke the grant, and the host can no longer read the volume', `Alice revokes the grant. The data is still
      on disk, encrypted, intact; but the instance's role cannot decrypt the data key, so the volume cannot be mounted.`);
    const v = host.volume(volumeId);
    app.kms().call(alice, 'RevokeGrant', { KeyId: v.kmsKeyArn!, GrantId: v.grantId! });
    expectError('mounting after RevokeGrant', 'AccessDeniedException', () => host.dataKey(host.volume(volumeId)));
    for (const r of newRecords()) showRecord(r);
    await pause();

    say('7. Lesson: a disabled key, then enabled again', `For keys she manages, Alice decides. A volume under her own
      customer managed key: disable the key and the host is refused (DisabledException); enable it and it works again.`);
    const cmk = app.kms().call(alice, 'CreateKey', { Description: 'walkthrough volumes' }).KeyMetadata as { KeyId: string };
    const vol2 = ec2.createVolume(alice, { Size: 1, Encrypted: true, KmsKeyId: cmk.KeyId }).VolumeId as string;
    ec2.attachVolume(alice, { VolumeId: vol2, InstanceId: instance.InstanceId as string, Device: '/dev/sdf' });
    app.kms().call(alice, 'DisableKey', { KeyId: cmk.KeyId });
    expectError('reading a volume whose key is disabled', 'DisabledException', () => host.dataKey(host.volume(vol2)));
    app.kms().call(alice, 'EnableKey', { KeyId: cmk.KeyId });
    const again = host.dataKey(host.volume(vol2));
    check('after EnableKey the host decrypts the data key again', again?.length === 64);
    again?.fill(0);
    newRecords();
    await pause();

    say('8. Lesson: key rotation keeps old data readable', `Rotating the CMK adds new key material; new data keys are encrypted
      under it, while the volume's existing data key, encrypted under the old material, still decrypts.`);
    app.kms().call(alice, 'RotateKeyOnDemand', { KeyId: cmk.KeyId });
    const afterRotation = host.dataKey(host.volume(vol2));
    check('the volume\'s data key still decrypts after rotation', afterRotation?.length === 64);
    afterRotation?.fill(0);
    newRecords();

    say('Done', failures.length === 0 ? 'Every step behaved as taught.' : `Steps that did not behave as taught: ${failures.join('; ')}`);
    out(`The trail: ebsim trail records --home ${home}${temporary ? ' (a temporary home, removed now; pass --home DIR to keep it)' : ''}`);
    return { home, failures, mounted };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
    rl?.close();
    app?.close();
    if (temporary) rmSync(home, { recursive: true, force: true });
  }
}
