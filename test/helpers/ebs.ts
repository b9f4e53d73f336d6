// What the EBS lifecycle tests share: the trail records a step leaves, who made each, sectors of
// backing images, and the sector cipher recomputed with OpenSSL (node:crypto's aes-256-xts, one
// cipher per sector, tweak = the sector number as a 16-byte little-endian integer), independent of
// src/xts.
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { TestHome } from './home.js';
import { allRecords, type TrailRecord } from '../../src/trail/index.js';
import type { CallContext } from '../../src/core/call-context.js';
import { opensslSector } from '../device/helpers.js';

export const SECTOR = 4096;

export function recordsDuring(h: TestHome, fn: () => unknown): TrailRecord[] {
  h.app.trail.flush();
  const before = allRecords(h.app.db).length;
  fn();
  h.app.trail.flush();
  return allRecords(h.app.db).slice(before);
}

/** Who made a record: a user, EC2 for a user ("Alice via EC2"), or a role session's ARN. */
export function who(r: TrailRecord): string {
  const u = r.userIdentity as { type: string; userName?: string; arn: string; invokedBy?: string };
  if (u.type === 'AssumedRole') return u.arn;
  return u.invokedBy ? `${u.userName} via EC2` : u.userName!;
}

export const brief = (recs: TrailRecord[]) => recs.map((r) => [r.eventName, who(r), r.errorCode ?? 'ok']);

/** The encryption context a KMS record names (requestParameters.encryptionContext). */
export const contextOf = (r: TrailRecord) => (r.requestParameters as { encryptionContext?: Record<string, string> }).encryptionContext;

export function readSector(file: string, sector: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(SECTOR);
    fs.readSync(fd, b, 0, SECTOR, sector * SECTOR);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

/** The sector numbers of an image that hold any non-zero byte (its written sectors). */
export function writtenSectors(file: string): number[] {
  const out: number[] = [];
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.alloc(1 << 20);
  const zero = Buffer.alloc(chunk.length);
  try {
    const size = fs.fstatSync(fd).size;
    for (let off = 0; off < size; off += chunk.length) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, off);
      if (chunk.subarray(0, n).equals(zero.subarray(0, n))) continue;
      for (let s = 0; s < n; s += SECTOR) if (!chunk.subarray(s, s + SECTOR).equals(zero.subarray(0, SECTOR))) out.push((off + s) / SECTOR);
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** SHA-256 of a whole image, read in chunks (images are 1 GiB and sparse). */
export function imageDigest(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0; ) hash.update(chunk.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** One sector encrypted by OpenSSL's XTS-AES-256 under the 64-byte `key`. */
export const xtsEncryptSector = (key: Uint8Array, sector: number, plaintext: Buffer): Buffer => opensslSector(Buffer.from(key), sector, plaintext);

export const xtsDecryptSector = (key: Uint8Array, sector: number, ciphertext: Buffer): Buffer => opensslSector(Buffer.from(key), sector, ciphertext, true);

/** A data key's plaintext, decrypted by `ctx` (an authorized principal) with its EBS context. */
export function plaintextKey(h: TestHome, ctx: CallContext, blob: Uint8Array, contextId: string): Buffer {
  const r = h.app.kms().call(ctx, 'Decrypt', { CiphertextBlob: blob, EncryptionContext: { 'aws:ebs:id': contextId } });
  return Buffer.from(r.Plaintext as Uint8Array);
}

/** A running instance of Alice's, for writing to volumes through the host. */
export function runInstance(h: TestHome, ctx: CallContext): string {
  const r = h.app.ec2().runInstances(ctx, { ImageId: 'ami-0123abcd', InstanceType: 't3.micro' });
  return (r.Instances as { InstanceId: string }[])[0]!.InstanceId;
}

/** Writes `data` at each offset through the host (attached to `instanceId`), then detaches. */
export async function writeThroughHost(h: TestHome, ctx: CallContext, volumeId: string, instanceId: string, writes: [offset: number, data: Buffer][]): Promise<void> {
  for (const [offset, data] of writes) await h.app.host().write(ctx, volumeId, offset, data, instanceId);
  h.app.ec2().detachVolume(ctx, { VolumeId: volumeId });
}
