// Paging tokens (KMS's Marker, CloudTrail's NextToken): opaque to callers, base64url of a text
// only ebsim reads. A token is taken only in exactly the form ebsim hands out: the text must
// match the pattern, and the token must be that text's own encoding (base64url decoding skips
// what it cannot read, so "x==" or a stray character would otherwise name the same page).

/** The token for `text`. */
export function pageToken(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** The match of `pattern` on the text `token` encodes, or undefined if the token is not one ebsim made in that form. */
export function readPageToken(token: string, pattern: RegExp): RegExpExecArray | undefined {
  const m = pattern.exec(Buffer.from(token, 'base64url').toString());
  return m && pageToken(m.input) === token ? m : undefined;
}
