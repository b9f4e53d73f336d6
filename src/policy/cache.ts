// Stored documents are parsed once: authorization reads the same few texts on every call, and the
// engine's compiled form is cached per parsed document, so the same text must give the same object.
import { parsePolicy } from './parse.js';
import type { PolicyDocument, PolicyKind } from './types.js';

const MAX_ENTRIES = 4096;
const parsed = new Map<string, PolicyDocument>();

/** parsePolicy, remembered by kind and text (a bounded cache: cleared when full). Throws PolicySyntaxError. */
export function parsedPolicy(text: string, kind: PolicyKind): PolicyDocument {
  const key = kind + '\u0000' + text;
  let doc = parsed.get(key);
  if (!doc) {
    doc = parsePolicy(text, kind);
    if (parsed.size >= MAX_ENTRIES) parsed.clear();
    parsed.set(key, doc);
  }
  return doc;
}
