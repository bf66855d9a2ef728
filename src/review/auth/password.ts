/**
 * Local passwords, hashed with scrypt (node:crypto) and stored as one self-describing string,
 * `$scrypt$ln=15,r=8,p=3$<salt>$<hash>` (PHC format, base64 without padding), so the cost can
 * rise later: a sign-in that proves a password stored at another cost stores it again at this one.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Semaphore } from './semaphore.js';

export interface ScryptCost {
  /** log2 of N, the CPU and memory cost. */
  ln: number;
  r: number;
  p: number;
}

/**
 * OWASP's minimum for scrypt in its memory-light form: N = 2^15 (32 MiB), r = 8, p = 3, about
 * 330 ms per hash on a 2-core server. The same work as N = 2^17, p = 1 in a quarter of the memory.
 */
export const DEFAULT_COST: ScryptCost = { ln: 15, r: 8, p: 3 };
/** Hashes run at once; the rest wait their turn, so a burst of sign-ins costs 4 x 32 MiB at most. */
export const CONCURRENT_HASHES = 4;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;

/**
 * The scrypt calls under way and waiting: at most CONCURRENT_HASHES run (32 MiB each) and
 * WAITING_HASHES wait (about 3 s of work); beyond that a sign-in is answered "busy" at once, so a
 * flood of attempts from many addresses cannot make everyone else's wait without end.
 */
export const WAITING_HASHES = 32;
export const hashing = new Semaphore(CONCURRENT_HASHES, WAITING_HASHES);

/** What is wrong with a new password, for the form or the command line; null when it will do. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password: at least ${MIN_PASSWORD_LENGTH} characters (a few words together make a good one)`;
  if (password.length > MAX_PASSWORD_LENGTH) return `password: at most ${MAX_PASSWORD_LENGTH} characters`;
  if (password.trim() !== password) return 'password: no spaces at the start or end';
  return null;
}

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.ln;
  // What OpenSSL allocates, exactly (V: 128 * r * (N + 2), B: 128 * r * p); Node's default ceiling is 32 MiB.
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 128 * cost.r * (N + 2 + cost.p) };
  return hashing.run(() => new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)))));
}

const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(key)}`;
}

/** False for a wrong password and for a stored string that is not one of ours (never throws on it). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = FORMAT.exec(stored);
  if (!match) return false;
  const [, ln, r, p, salt, hash] = match;
  const expected = Buffer.from(hash!, 'base64');
  const key = await derive(password, Buffer.from(salt!, 'base64'), { ln: Number(ln), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** True when a stored hash was made at another cost than DEFAULT_COST (or is not one of ours). */
export function needsRehash(stored: string): boolean {
  const match = FORMAT.exec(stored);
  return !match || Number(match[1]) !== DEFAULT_COST.ln || Number(match[2]) !== DEFAULT_COST.r || Number(match[3]) !== DEFAULT_COST.p;
}

let decoy: Promise<string> | undefined;

/**
 * Spends the same scrypt as a real check, for a sign-in whose account does not exist, is
 * disabled or has no password: the answer's timing must not say which accounts exist.
 */
export async function verifyDecoy(password: string): Promise<false> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await decoy);
  return false;
}
