// Python `cryptography` (OpenSSL underneath) as a second, independent implementation of ML-KEM:
// version 48 has ML-KEM-768 and ML-KEM-1024 (not 512), seed-form PKCS#8 and SubjectPublicKeyInfo.
// Tests that use it are skipped where it is missing.
import { execFileSync } from 'node:child_process';

let available: boolean | undefined;

/** Does the python3 on PATH have `cryptography` with ML-KEM? */
export function hasPythonMlKem(): boolean {
  if (available === undefined) {
    try {
      execFileSync('python3', ['-c', 'from cryptography.hazmat.primitives.asymmetric import mlkem; mlkem.MLKEM768PrivateKey'], { stdio: 'ignore' });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

/** Runs a Python script that reads one JSON value on stdin (hex strings for bytes) and prints one JSON value. */
export function python(script: string, input: unknown): any {
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  return JSON.parse(out);
}
