// `ebsim walkthrough`: replays the seed (the KMS guide's "Amazon EC2 example two") in a fresh home,
// each step opening with why it works as it does, then one line per CloudTrail record, then the
// checks; then mounts the volume, proves on the real backing image that it is encrypted, and
// teaches by failure. It exits non-zero if any step does not behave as taught, so it doubles as
// an end-to-end test. Compact by default (about 160 lines); --full adds every record as JSON
// beside the seed's. The EBS lifecycle beyond the seed is taught by further lessons, each run on
// its own with --lesson NAME (lessons/), so the default run stays compact.
import { linkSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { initHome, openEbsim, type Ebsim } from '../app/ebsim.js';
import { findMissingPrerequisite } from '../device/index.js';
import { parseBlobHeader } from '../kms/index.js';
import type { CallContext } from '../core/call-context.js';
import { Session } from './session.js';
import { WHY } from './why.js';
import { helloBytes, homeFiles, MARKER, sectorViews, tweakBytes, writeAndLocate, writeFileAndLocate, type LocatedFile } from './evidence.js';
import { proveAbsentFromFiles, proveAbsentFromImage, proveIndependentDecryption, proveSectorIsCiphertext, proveTweakSeparatesSectors, readImageSector } from './proofs.js';
import { decryptSectorWithOpenssl } from './openssl-xts.js';
import { recordTable, sideBySide, wrap } from './format.js';
import { allRecords } from '../trail/index.js';
import { ADMINISTRATOR_ACCESS } from '../iam/aws-managed-policies.js';
import { explainVolume, renderEnvelope } from '../envelope/index.js';
import { LESSONS, lessonsNamed } from './lessons/index.js';

export interface WalkthroughOptions {
  home?: string;
  /** Wait for Enter after each step's explanation (on a TTY). */
  step?: boolean;
  /** Print every record as JSON beside the seed's. */
  full?: boolean;
  /** Run these further lessons (lessons/; "all": every one) instead of the seed's steps. */
  lessons?: readonly string[];
  /** How --step waits (default: a readline question on a TTY; tests pass their own). */
  ask?: (prompt: string) => Promise<unknown>;
  /** Serve the volumes in this process even where a real mount is possible (the path taken without FUSE). */
  inProcess?: boolean;
  out?: (text: string) => void;
}

export interface WalkthroughResult {
  home: string;
  failures: string[];
  mounted: boolean;
}

const GIB = 1024 ** 3;

export async function runWalkthrough(opts: WalkthroughOptions = {}): Promise<WalkthroughResult> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t + '\n'));
  const lessons = lessonsNamed(opts.lessons ?? []); // before anything is made: a misspelt name is the user's mistake
  const temporary = !opts.home;
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'ebsim-walkthrough-'));
  const rl = opts.step && !opts.ask && process.stdin.isTTY ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
  const ask = opts.step ? (opts.ask ?? (rl ? (p: string) => rl.question(p) : undefined)) : undefined;
  let app: Ebsim | undefined;
  const s = new Session(() => app!, out, opts.full ?? false, ask);
  const mountedVolumes = new Set<string>();
  const missing = opts.inProcess ? { message: 'asked to serve the volumes in this process' } : findMissingPrerequisite();
  const canMount = !missing;

  const cleanup = async () => {
    for (const v of mountedVolumes) await app?.host().unmount(v).catch(() => {});
    mountedVolumes.clear();
    if (app) await app.host().cleanup().catch(() => {});
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const done = (lookAt: string): WalkthroughResult => {
    out(`\n== Done: ${s.failures.length === 0 ? 'every step behaved as taught' : `${s.failures.length} step(s) did not behave as taught: ${s.failures.join('; ')}`} ==`);
    out(wrap(`Look around${temporary ? ' (with --home DIR: this home was temporary)' : ` (--home ${home})`}: ebsim trail records · ebsim trail diagram${lookAt}`));
    return { home, failures: s.failures, mounted: canMount };
  };

  try {
    out(wrap(lessons.length
      ? `ebsim walkthrough: ${lessons.length === 1 ? 'a lesson' : `${lessons.length} lessons`} on the EBS lifecycle (${lessons.map((l) => l.name).join(', ')}).`
      : `ebsim walkthrough: the KMS guide's "Amazon EC2 example two" (the seed), replayed and explained.`));
    out(wrap(`Home: ${home}${temporary ? ' (temporary)' : ''} · --full: records as JSON · --step: pause`));
    initHome(home);
    app = openEbsim(home);
    s.startTrail();
    const alice = app.as('Alice');
    if (lessons.length) {
      for (const l of lessons) await l.run({ app, s, alice });
      return done(' · ebsim ec2 describe-snapshots');
    }
    const kms = app.kms();
    const ec2 = app.ec2();
    const host = app.host();

    // ---- 1. envelope encryption -------------------------------------------------------------
    const run = ec2.runInstances(alice, {
      ImageId: 'ami-b66ed3de',
      InstanceType: 'm3.medium',
      BlockDeviceMappings: [{ DeviceName: '/dev/sdb', Ebs: { VolumeSize: 8, DeleteOnTermination: false, VolumeType: 'gp2', Encrypted: true } }],
    });
    const instanceId = (run.Instances as { InstanceId: string }[])[0]!.InstanceId;
    const volumeId = ((run.Instances as Record<string, unknown>[])[0]!.BlockDeviceMappings as { DeviceName: string; Ebs: { VolumeId: string } }[]).find((m) => m.DeviceName === '/dev/sdb')!.Ebs.VolumeId;
    const launch = s.newRecords();
    await s.step('Envelope encryption: Alice launches an instance with an encrypted volume', WHY.envelope());
    s.say(`Alice runs an m3.medium with an 8 GiB encrypted /dev/sdb (${volumeId}), as in the seed. She names no key, so EC2 uses the AWS managed key aws/ebs, which KMS creates on first use.`);
    s.check('the trail holds RunInstances, then the three KMS calls it caused, in the seed\'s order',
      JSON.stringify(launch.map((r) => r.eventName)) === JSON.stringify(['RunInstances', 'GenerateDataKeyWithoutPlaintext', 'CreateGrant', 'Decrypt']));
    s.records(launch.slice(0, 2));
    const volume = host.volume(volumeId);
    const blob = volume.encryptedDataKey!;
    const header = parseBlobHeader(blob);
    s.check(`EC2 got no plaintext key, and keeps the encrypted one: ${blob.length} bytes naming key ${header.keyId.split('-')[0]}…, v${header.version}`,
      !('plaintext' in ((launch[1]?.responseElements ?? {}) as object)) && volume.kmsKeyArn!.endsWith(header.keyId));

    // ---- 2. the grant ------------------------------------------------------------------------
    await s.step('The grant: the instance\'s role may decrypt this one data key', WHY.grant());
    s.records(launch.slice(2));
    const grant = kms.inventory().grants.find((g) => g.GrantId === volume.grantId);
    s.check(`the grant: ${grant?.Operations.join(',')} for the host of ${instanceId}, with aws:ebs:id=${volumeId}`,
      grant?.GranteePrincipal === `${app.iam.account()!.accountId}:aws:ec2-infrastructure:${instanceId}` &&
        grant.Constraints?.EncryptionContextSubset?.['aws:ebs:id'] === volumeId && grant.Operations.join() === 'Decrypt');
    s.check('CreateGrant shares RunInstances\' request ID: one request of Alice\'s caused both', launch[2]?.requestID === launch[0]?.requestID);

    // ---- 3. the encryption context -----------------------------------------------------------
    await s.step('The encryption context: bound into the data key, checked on every Decrypt', WHY.context(volumeId));
    const hostCtx = host.callContext(instanceId);
    s.say('The host\'s role asks KMS to decrypt the volume\'s data key with another volume\'s context:');
    await s.expectError('Decrypt with another volume\'s context', 'AccessDeniedException', () =>
      kms.call(hostCtx, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': 'vol-00000000000000000' } }));
    s.records(s.newRecords());
    s.say('With Alice\'s own key (alias/alice), a data key made with one context, opened with another:');
    const cmk = (kms.call(alice, 'CreateKey', { Description: 'walkthrough volumes' }).KeyMetadata as { KeyId: string }).KeyId;
    kms.call(alice, 'CreateAlias', { AliasName: 'alias/alice', TargetKeyId: cmk });
    const own = kms.call(alice, 'GenerateDataKeyWithoutPlaintext', { KeyId: 'alias/alice', NumberOfBytes: 64, EncryptionContext: { purpose: 'walkthrough' } }).CiphertextBlob as Uint8Array;
    await s.expectError('Decrypt of that blob with {"purpose": "other"}', 'InvalidCiphertextException', () =>
      kms.call(alice, 'Decrypt', { CiphertextBlob: own, EncryptionContext: { purpose: 'other' } }));
    s.records(s.newRecords());

    // ---- 4. the plaintext key, and the mount -------------------------------------------------
    await s.step('Mounting: where the plaintext data key lives', WHY.plaintextKey());
    s.say('(The first Decrypt: the walkthrough\'s own copy of the key, to check the host with OpenSSL.)');
    const key = host.dataKey(volume)!;
    const image = { volumeId, imagePath: host.imagePath(volumeId), sizeBytes: volume.sizeGiB * GIB };
    const keyHalves = [{ what: 'K1', bytes: key.subarray(0, 32) }, { what: 'K2', bytes: key.subarray(32) }];
    let files: LocatedFile[];
    try {
      if (canMount) {
        const mnt = join(home, 'mnt');
        const m = await host.mount(alice, { volumeId, mountpoint: mnt, format: 'ext4' });
        mountedVolumes.add(volumeId);
        files = writeAndLocate(mnt);
        s.say(`Mounted at mnt/ in the home: daemon (pid ${m.daemonPid}, holding the key) → FUSE → ${m.loopDevice} → ext4.`);
        const scanned = homeFiles(home);
        s.check('while mounted, the data key is in no file of the home (database, logs, mount state…)', ...proofArgs(proveAbsentFromFiles(scanned, keyHalves, '')));
        await host.unmount(volumeId);
        mountedVolumes.delete(volumeId);
      } else {
        s.say(`A real mount is not possible here (${missing.message}): the volume is served in this process instead, and the files are written at sectors of the walkthrough's choosing.`);
        files = [{ name: 'hello.txt', bytes: helloBytes(), sectors: [33_000], how: 'chosen' }, { name: 'tweak.bin', bytes: tweakBytes(), sectors: [34_000, 34_001], how: 'chosen' }];
        for (const f of files) await host.write(alice, volumeId, f.sectors[0]! * 4096, f.bytes);
        s.check('the data key is in no file of the home (database, logs…)', ...proofArgs(proveAbsentFromFiles(homeFiles(home), keyHalves, '')));
      }
      s.records(s.newRecords());

      // ---- 5. XTS, proven on the image ------------------------------------------------------
      await s.step('XTS: what the backing image holds', WHY.xts());
      const [hello] = await sectorViews(image, key, files[0]!.sectors);
      const tweak = await sectorViews(image, key, files[1]!.sectors);
      const at = hello!.sector * 4096;
      s.say(`${files[0]!.how === 'chosen' ? 'Written at' : 'filefrag -v:'} hello.txt in sector ${hello!.sector} (${(at / (1 << 20)).toFixed(1)} MiB into the image), tweak.bin in ${files[1]!.sectors.join(' and ')}.`);
      s.check('ebsim\'s device reads the files back at those sectors',
        hello!.plaintext.equals(files[0]!.bytes) && tweak.length === 2 && Buffer.concat(tweak.map((t) => t.plaintext)).equals(files[1]!.bytes));
      out(sideBySide(hello!.onDisk, hello!.plaintext, 4));
      const marker = Buffer.from(MARKER);
      for (const p of [
        proveSectorIsCiphertext(hello!, marker),
        proveIndependentDecryption(key, hello!),
        proveTweakSeparatesSectors(tweak[0]!, tweak[1]!),
        proveAbsentFromImage(image.imagePath, [{ what: 'the marker', bytes: marker }, ...keyHalves], 'neither the marker nor the data key (either half) is anywhere in the backing image'),
      ]) s.check(p.claim, p.holds, p.detail);
      // Six bytes each: two 7-digit sectors (an 8 GiB volume has 2,097,152) still fit 100 columns.
      const head = (v: { sector: number; onDisk: Buffer }) => `${v.sector}: ${[...v.onDisk.subarray(0, 6)].map((x) => x.toString(16).padStart(2, '0')).join(' ')} …`;
      out(`       the two sectors on disk: ${head(tweak[0]!)}   ${head(tweak[1]!)}`);
    } finally {
      key.fill(0);
    }
    s.newRecords();

    // ---- a stolen image ---------------------------------------------------------------------------
    await s.step('A stolen image is useless without KMS', WHY.stolen());
    await stolenImage(s, home, host.imagePath(volumeId), blob, volumeId);

    // ---- 6. the key policy ---------------------------------------------------------------------
    await s.step('The key policy: Alice cannot decrypt her own volume\'s data key', WHY.keyPolicy(alice.region));
    let why = '';
    await s.expectError('Alice decrypting the data key herself', 'AccessDeniedException', () =>
      kms.call({ ...alice, explain: (d) => (why += d.text) }, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': volumeId } }));
    const condition = why.split('\n').find((l) => l.includes('kms:ViaService')) ?? '';
    s.check('KMS\'s reason (ebsim --explain): the aws/ebs key policy\'s kms:ViaService condition',
      /Condition StringEquals kms:ViaService: request has \(absent\); policy wants ec2\.[\w-]+\.amazonaws\.com \(not met\)/.test(why), condition.trim());
    s.records(s.newRecords(), false);

    // ---- 7. revoking the grant ----------------------------------------------------------------
    await s.step('Revoking the grant: the host can no longer read the volume', WHY.revoke());
    kms.call(alice, 'RevokeGrant', { KeyId: volume.kmsKeyArn!, GrantId: volume.grantId! });
    await s.expectError('the host\'s next mount (its Decrypt) after RevokeGrant', 'AccessDeniedException', () => host.dataKey(host.volume(volumeId)));
    s.records(s.newRecords());

    // ---- 8. a key disabled while mounted --------------------------------------------------------
    await s.step('A key disabled while mounted keeps working until unmount', WHY.disabled());
    await disabledWhileMounted(app, s, alice, instanceId, home, canMount, mountedVolumes);

    // ---- 9. rotation --------------------------------------------------------------------------------
    await s.step('Key rotation keeps old data readable', WHY.rotation());
    kms.call(alice, 'RotateKeyOnDemand', { KeyId: cmk });
    const vol2 = ec2.volumesQuietly().find((v) => v.kmsKeyArn?.endsWith(cmk))!;
    const again = host.dataKey(host.volume(vol2.volumeId));
    s.check(`${vol2.volumeId}'s data key (its blob names version ${parseBlobHeader(vol2.encryptedDataKey!).version}) still decrypts after rotation`, again?.length === 64);
    again?.fill(0);
    const fresh = kms.call(alice, 'GenerateDataKeyWithoutPlaintext', { KeyId: 'alias/alice', NumberOfBytes: 64, EncryptionContext: { purpose: 'walkthrough' } }).CiphertextBlob as Uint8Array;
    s.check(`a new data key is encrypted under the new material: its blob names version ${parseBlobHeader(fresh).version}`, parseBlobHeader(fresh).version === 2);
    s.records(s.newRecords());

    // ---- 10. the envelope, link by link ------------------------------------------------------------
    await s.step('The envelope of a volume, link by link (ebsim explain)', WHY.explain(volumeId));
    const envelope = await explainVolume(app, volumeId);
    out(renderEnvelope(envelope));
    s.check('ebsim explain finds the broken link: the grant, revoked above, by the RevokeGrant record',
      envelope.Broken.length === 1 && envelope.Broken[0]!.Link === 'Grant' && envelope.Broken[0]!.BrokenBy?.EventName === 'RevokeGrant');

    s.seedSummary();
    const result = done(` · ebsim explain ${volumeId}`);
    out(wrap(`More lessons, each on its own: ebsim walkthrough --lesson ${LESSONS.map((l) => l.name).join('|')}|all`));
    return result;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
    rl?.close();
    app?.close();
    if (temporary) rmSync(home, { recursive: true, force: true });
  }
}

/**
 * A thief copies the backing image and the encrypted data key into a home of their own (another
 * account, another KMS), and asks that KMS to decrypt the data key: refused, and the image alone
 * holds nothing but ciphertext (checked in the previous step).
 */
async function stolenImage(s: Session, home: string, imagePath: string, blob: Uint8Array, volumeId: string): Promise<void> {
  const thiefHome = join(home, 'thief');
  initHome(thiefHome, '210987654321');
  const thief = openEbsim(thiefHome);
  try {
    thief.iam.createUser(undefined, 'Mallory');
    thief.iam.attachUserPolicy(undefined, 'Mallory', ADMINISTRATOR_ACCESS);
    const copy = join(thiefHome, 'stolen.img');
    linkSync(imagePath, copy); // the same bytes a copy would hold, without writing 8 GiB
    s.say('Mallory (account 210987654321, another home) has the image and the encrypted data key:');
    await s.expectError('Mallory\'s Decrypt of the data key', 'InvalidCiphertextException', () =>
      thief.kms().call(thief.as('Mallory'), 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': volumeId } }));
    thief.trail.flush();
    for (const l of recordTable(allRecords(thief.db).filter((r) => r.eventSource === 'kms.amazonaws.com'), (arn) => arn.split('/').pop()!.split('-')[0]!)) s.out(l);
    s.say('Her KMS has no such key: the CMK never left Alice\'s. (On AWS the blob names a key in Alice\'s account, whose policy does not let Mallory in: refused too.)');
  } finally {
    thief.close();
  }
}

function proofArgs(p: { holds: boolean; detail: string }): [boolean, string] {
  return [p.holds, p.detail];
}

/**
 * Step 8: a volume under Alice's key, mounted; the key disabled; a file written and flushed after
 * that (the daemon still holds the data key); unmount; the next mount refused; the key enabled; the
 * file read back from a fresh mount. Without FUSE, the same with the device held open in-process.
 */
async function disabledWhileMounted(app: Ebsim, s: Session, alice: CallContext, instanceId: string, home: string, canMount: boolean, mounted: Set<string>): Promise<void> {
  const kms = app.kms();
  const host = app.host();
  const vol = app.ec2().createVolume(alice, { Size: 1, Encrypted: true, KmsKeyId: 'alias/alice' }).VolumeId as string;
  const keyArn = host.volume(vol).kmsKeyArn!;
  app.ec2().attachVolume(alice, { VolumeId: vol, InstanceId: instanceId, Device: '/dev/sdf' });
  const key = host.dataKey(host.volume(vol))!; // the walkthrough's copy, to check the disk with OpenSSL
  s.setup(`${vol}, under Alice's own key alias/alice, attached`, s.newRecords());
  const image = host.imagePath(vol);
  const note = Buffer.from('written after DisableKey: the daemon still had the data key\n'.repeat(70).slice(0, 4095) + '\n');
  try {
    let located: LocatedFile;
    if (canMount) {
      const mnt = join(home, 'mnt2');
      await host.mount(alice, { volumeId: vol, mountpoint: mnt, format: 'ext4' });
      mounted.add(vol);
      kms.call(alice, 'DisableKey', { KeyId: keyArn });
      located = writeFileAndLocate(mnt, 'after-disable.txt', note);
      s.say(`Mounted it; Alice disabled the key; then wrote and flushed after-disable.txt (sector ${located.sectors[0]}).`);
      await host.unmount(vol);
      mounted.delete(vol);
    } else {
      located = { name: 'after-disable.txt', bytes: note, sectors: [5000], how: 'chosen' };
      await host.withDevice(alice, vol, undefined, async (dev) => {
        kms.call(alice, 'DisableKey', { KeyId: keyArn });
        await dev.write(located.sectors[0]! * 4096, note);
        await dev.flush();
      });
      s.say(`${vol} served in this process; Alice disabled the key; then the device wrote sector ${located.sectors[0]}.`);
    }
    const sector = located.sectors[0]!;
    s.check('the write made after DisableKey is on disk, encrypted (OpenSSL decrypts it)',
      decryptSectorWithOpenssl(key, sector, readImageSector(image, sector)).equals(note));
    await s.expectError('the next mount (its Decrypt) while the key is disabled', 'DisabledException', async () => {
      if (!canMount) return host.dataKey(host.volume(vol));
      await host.mount(alice, { volumeId: vol, mountpoint: join(home, 'mnt2'), format: 'none' });
      mounted.add(vol);
    });
    kms.call(alice, 'EnableKey', { KeyId: keyArn });
    let readBack: Buffer;
    if (canMount) {
      await host.mount(alice, { volumeId: vol, mountpoint: join(home, 'mnt2'), format: 'none' });
      mounted.add(vol);
      readBack = readFileSync(join(home, 'mnt2', 'after-disable.txt'));
      await host.unmount(vol);
      mounted.delete(vol);
    } else {
      readBack = await host.read(alice, vol, sector * 4096, 4096);
    }
    s.check('after EnableKey the volume mounts again, and the file is there', readBack.equals(note));
    s.records(s.newRecords());
  } finally {
    key.fill(0);
  }
}
