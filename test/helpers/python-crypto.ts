// OpenSSL 3.5+ through Python's `cryptography` (48 and later bundle it), when installed: the
// independent ML-DSA implementation ebsim's ML-DSA keys and signatures are checked against, since
// Node 20's OpenSSL 3.0 has none. Tests that need it skip with that reason where it is missing.
import { execFileSync } from 'node:child_process';

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

let available: boolean | undefined;

/** Whether python3's cryptography has ML-DSA (`from cryptography.hazmat.primitives.asymmetric import mldsa`). */
export function hasPythonMlDsa(): boolean {
  if (available === undefined) {
    try {
      execFileSync('python3', ['-c', 'from cryptography.hazmat.primitives.asymmetric import mldsa; mldsa.MLDSA44PrivateKey'], { stdio: 'ignore' });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

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
  const input = JSON.stringify(cases.map((c) => ({ spki: hex(c.spki), message: hex(c.message), signature: hex(c.signature) })));
  return JSON.parse(execFileSync('python3', ['-c', VERIFY], { input, encoding: 'utf8' })) as PythonVerdict[];
}
