/**
 * Secrets from config (`{value}`, `{file}` or `{env}`), the queue key built from one, the keys
 * derived from it, and the AES-256-GCM sealing they are used for. Errors name the config field and
 * where the secret was looked for, never the secret itself.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecretSource } from '../config/operations-schema.js';

/** A secret could not be read or is not usable; the message names the config field. */
export class SecretError extends Error {
  override name = 'SecretError';
}

/**
 * The secret's text. A file loses its trailing line break (editors and `echo` add one); nothing
 * else is trimmed, since spaces can belong to a password.
 */
export function readSecret(source: SecretSource, field: string, env: NodeJS.ProcessEnv = process.env): string {
  let text: string;
  if ('value' in source) {
    text = source.value;
  } else if ('file' in source) {
    try {
      text = readFileSync(source.file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new SecretError(`${field}: cannot read the file ${source.file} (${code})`);
    }
  } else {
    const value = env[source.env];
    if (value === undefined) throw new SecretError(`${field}: the environment variable ${source.env} is not set`);
    text = value;
  }
  if (text === '') throw new SecretError(`${field}: the secret is empty`);
  return text;
}

export const QUEUE_KEY_BYTES = 32;

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
/** Standard or URL-safe base64 of 32 bytes: 43 characters and an optional `=`. */
const BASE64_KEY = /^[A-Za-z0-9+/_-]{43}=?$/;

/** Parses 32 bytes given as 64 hex digits or as base64; `field` names the setting in errors. */
export function parseKey(text: string, field: string): Buffer {
  if (HEX_KEY.test(text)) return Buffer.from(text, 'hex');
  if (BASE64_KEY.test(text)) {
    const key = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === QUEUE_KEY_BYTES) return key;
  }
  throw new SecretError(
    `${field}: expected ${QUEUE_KEY_BYTES} bytes as 64 hex digits or 44 base64 characters, got ${text.length} characters that are neither (generate one with: openssl rand -base64 32)`,
  );
}

/** The AES-256-GCM key for messages in Redis (`queue.key`), required wherever the queue is used. */
export function readQueueKey(queue: { key?: SecretSource | undefined }, env: NodeJS.ProcessEnv = process.env): Buffer {
  if (!queue.key) {
    throw new SecretError('queue.key is required in cluster mode: messages are encrypted in Redis (generate a key with: openssl rand -base64 32)');
  }
  return parseKey(readSecret(queue.key, 'queue.key', env).trim(), 'queue.key');
}

/**
 * A key for one purpose derived from the queue key (HKDF-SHA256), so the cipher key and the job-id
 * key are never the same bytes although operators manage one secret.
 */
export function deriveKey(queueKey: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', queueKey, Buffer.alloc(0), `kestrel queue: ${purpose}`, QUEUE_KEY_BYTES));
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM with a random IV: `iv[12] | ciphertext | tag[16]`. The associated data binds the
 * bytes to their use (a job id, an original), so sealed data moved elsewhere does not open.
 */
export function seal(plain: Buffer, key: Buffer, associatedData: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData);
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** Sealed bytes that are too short to be sealed data, or do not authenticate (another key, or altered). */
export class UnsealError extends Error {
  override name = 'UnsealError';
  constructor(readonly reason: 'truncated' | 'unauthentic') {
    super(reason === 'truncated' ? 'the sealed data is truncated' : 'the sealed data does not authenticate');
  }
}

export function unseal(sealed: Buffer, key: Buffer, associatedData: Buffer): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new UnsealError('truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new UnsealError('unauthentic');
  }
}
