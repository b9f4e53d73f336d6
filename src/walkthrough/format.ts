// Text layouts the walkthrough prints: bytes side by side, one CloudTrail record per line.

/** `rows` rows of 16 bytes: the left buffer in hex, the right one as text (dots for the unprintable). */
export function sideBySide(left: Uint8Array, right: Uint8Array, rows: number): string {
  const text = (b: Uint8Array) => [...b].map((x) => (x >= 32 && x < 127 ? String.fromCharCode(x) : '.')).join('');
  const lines = [`    offset  ${'on disk (hex)'.padEnd(47)}   decrypted`];
  for (let r = 0; r < rows; r++) {
    const at = r * 16;
    const hex = [...left.subarray(at, at + 16)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    lines.push(`    ${at.toString(16).padStart(6, '0')}  ${hex.padEnd(47)}   ${text(right.subarray(at, at + 16))}`);
  }
  return lines.join('\n');
}
