// The envelope as text, at most 100 columns: one block per link, top (the CMK) to bottom (the
// image), each broken link marked with what it breaks and the trail record that broke it.
import type { Envelope, LinkName } from './envelope.js';

const MIB = 1 << 20;

function size(bytes: number): string {
  return bytes >= 1024 * MIB ? `${+(bytes / (1024 * MIB)).toFixed(1)} GiB` : `${+(bytes / MIB).toFixed(1)} MiB`;
}

export function renderEnvelope(e: Envelope): string {
  const lines: string[] = [`${e.VolumeId} (${e.SizeGiB} GiB, ${e.State}): ${e.Healthy ? 'every link holds' : `${e.Broken.length} broken link${e.Broken.length > 1 ? 's' : ''}`}`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(9)} ${text}`);
  const more = (text: string) => lines.push(`            ${text}`);
  const faults = (link: LinkName) => {
    for (const b of e.Broken.filter((x) => x.Link === link)) {
      more(`✗ ${b.Problem}: ${b.Consequence}`);
      if (b.BrokenBy) more(`  broken by ${b.BrokenBy.EventName} (${b.BrokenBy.Caller}, ${b.BrokenBy.EventTime})`);
    }
  };
  const arrow = (text: string) => lines.push(`     ↓ ${text}`);
  if (e.Key) {
    const k = e.Key;
    const name = k.Aliases.length ? `${k.Aliases.join(', ')} (${k.KeyId.split('-')[0]}…)` : k.KeyId;
    row('CMK', `${name}: ${k.KeyState}${k.KeyManager ? ` · ${k.KeyManager === 'AWS' ? 'AWS managed' : 'customer managed'}` : ''}${k.KeyVersions ? ` · ${k.KeyVersions} version${k.KeyVersions > 1 ? 's' : ''}` : ''}${k.RotationEnabled ? ' · rotates yearly' : ''}`);
    for (const p of k.Policy) more(`policy: ${p}`);
    faults('Key');
    arrow('encrypts (in KMS; the CMK never leaves it)');
  }
  if (e.DataKey) {
    const d = e.DataKey;
    row('data key', `${d.Bytes}-byte blob stored with the volume: key ${d.KeyId.split('-')[0]}…, version ${d.KeyVersion}`);
    more(`context ${JSON.stringify(d.EncryptionContext)}: bound into the blob, not stored in it`);
    faults('DataKey');
    arrow('decrypted for the host under');
  }
  if (e.Grant) {
    const g = e.Grant;
    const c = g.Constraints as { EncryptionContextSubset?: Record<string, string>; EncryptionContextEquals?: Record<string, string> } | null;
    const ctx = (m: Record<string, string>) => Object.entries(m).map(([k, v]) => `${k}=${v}`).join(',');
    const when = c?.EncryptionContextSubset ? ` with a context including ${ctx(c.EncryptionContextSubset)}` : c?.EncryptionContextEquals ? ` with the context ${ctx(c.EncryptionContextEquals)} exactly` : '';
    row('grant', `${g.GrantId.slice(0, 8)}… ${g.State.toUpperCase()}: ${g.GranteePrincipal || '(grantee unknown)'}`);
    more(`may ${g.Operations.join(',') || '(nothing)'}${when}`);
    faults('Grant');
    arrow('the plaintext data key goes to');
  }
  const h = e.Host;
  const mount = h.Mounted ? `mounted at ${h.Mounted.Mountpoint ?? '(no file system)'}${h.Mounted.Healthy ? '' : ' (UNHEALTHY)'}` : 'not mounted';
  row('host', `${h.InstanceId ? `attached to ${h.InstanceId} (${h.InstanceState}) as ${h.Device}` : 'not attached'} · ${mount}`);
  if (e.Encrypted) more(`plaintext data key: ${h.PlaintextKeyIn ?? 'nowhere (KMS is asked again at the next mount)'}`);
  faults('Host');
  arrow(e.Encrypted ? 'encrypts each 4096-byte sector (AES-256-XTS, tweak = sector number) into' : 'writes sectors as they are into');
  const i = e.Image;
  row('image', i.Path);
  more(i.Exists ? `${size(i.SizeBytes)}; ${size(i.AllocatedBytes)} written (${i.WrittenSectors} sectors), ${i.HoleSectors} sectors never written (holes)` : 'missing');
  faults('Image');
  for (const n of e.Notes) lines.push(`  note: ${n}`);
  return lines.map((l) => (l.length > 100 ? wrapLine(l) : l)).join('\n');
}

/** Wraps a long line at spaces, continuing under the text column (indented two more). */
function wrapLine(line: string): string {
  const lead = /^ */.exec(line)![0];
  const next = ' '.repeat(14);
  const out: string[] = [];
  let cur = lead;
  for (const w of line.trim().split(' ')) {
    if (cur.trim() && cur.length + 1 + w.length > 100) {
      out.push(cur);
      cur = next + w;
    } else cur = cur.trim() ? `${cur} ${w}` : cur + w;
  }
  out.push(cur);
  return out.join('\n');
}
