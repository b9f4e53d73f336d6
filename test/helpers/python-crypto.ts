// OpenSSL 3.5+ through Python's `cryptography` (48 and later bundle it), when installed: the
// independent ML-DSA and ML-KEM implementation ebsim's post-quantum keys are checked against,
// since Node 20's OpenSSL 3.0 has neither. Version 48 has ML-KEM-768/1024 (not 512). Tests that
// need it skip with that reason where it is missing.
import { execFileSync } from 'node:child_process';

const found = new Map<string, boolean>();

/** Does python3 run this import check without error? (Cached per check.) */
function pythonHas(check: string): boolean {
  let ok = found.get(check);
  if (ok === undefined) {
    try {
      execFileSync('python3', ['-c', check], { stdio: 'ignore' });
      ok = true;
    } catch {
      ok = false;
    }
    found.set(check, ok);
  }
  return ok;
}

/** Whether python3's cryptography has ML-KEM. */
export const hasPythonMlKem = () => pythonHas('from cryptography.hazmat.primitives.asymmetric import mlkem; mlkem.MLKEM768PrivateKey');
/** Whether python3's cryptography has ML-DSA. */
export const hasPythonMlDsa = () => pythonHas('from cryptography.hazmat.primitives.asymmetric import mldsa; mldsa.MLDSA44PrivateKey');

/** Runs a Python script that reads one JSON value on stdin (hex strings for bytes) and prints one JSON value. */
export function python(script: string, input: unknown): any {
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

const VERIFY = `
import sys, json
from cryptography.hazmat.primitives.serialization import load_der_public_key
out = []
for c in json.load(sys.stdin):
    key = load_der_public_key(bytes.fromhex(c['spki']))
    try:
        key.verify(bytes.fromhex(c['signature']), bytes.fromhex(c['message']))
        ok = True
    except Exception:
        ok = False
    out.append({'type': type(key).__name__, 'raw': key.public_bytes_raw().hex(), 'valid': ok})
print(json.dumps(out))
`;

export interface PythonVerdict {
  /** The key class OpenSSL made of the SubjectPublicKeyInfo ("MLDSA65PublicKey"). */
  type: string;
  /** The raw public key it holds (hex). */
  raw: string;
  valid: boolean;
}

/** Loads each DER SubjectPublicKeyInfo with OpenSSL and verifies the signature over the message (pure ML-DSA, empty context). */
export function pythonVerify(cases: { spki: Uint8Array; message: Uint8Array; signature: Uint8Array }[]): PythonVerdict[] {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return python(VERIFY, cases.map((c) => ({ spki: hex(c.spki), message: hex(c.message), signature: hex(c.signature) }))) as PythonVerdict[];
}
