// Identifiers formed the way AWS forms them.
import { randomBytes, randomInt } from 'node:crypto';

export { EC2_INFRASTRUCTURE_ROLE } from '../core/arn.js';

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomChars(n: number, alphabet = UPPER_ALNUM): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** IAM unique IDs: a four-letter prefix (AIDA user, AROA role, AKIA/ASIA access keys) and 17 or 16 characters. */
export const newUserId = () => `AIDA${randomChars(17)}`;
export const newRoleId = () => `AROA${randomChars(17)}`;
export const newAccessKeyId = () => `AKIA${randomChars(16)}`;
export const newSessionAccessKeyId = () => `ASIA${randomChars(16)}`;
export const newSecretAccessKey = () => randomBytes(30).toString('base64').replace(/[^A-Za-z0-9]/g, 'A').slice(0, 40).padEnd(40, 'A');
export const newSessionToken = () => randomBytes(96).toString('base64');

export const userArn = (account: string, name: string) => `arn:aws:iam::${account}:user/${name}`;
export const roleArn = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
export const assumedRoleArn = (account: string, role: string, session: string) =>
  `arn:aws:sts::${account}:assumed-role/${role}/${session}`;
/** Customer managed policies: ANPA and 17 characters, arn:aws:iam::ACCOUNT:policy/NAME. */
export const newPolicyId = () => `ANPA${randomChars(17)}`;
export const policyArn = (account: string, name: string) => `arn:aws:iam::${account}:policy/${name}`;
