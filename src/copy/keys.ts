/**
 * The keys behind copies: one signs the X-Kestrel-Copy header (so connectors skip Kestrel's own
 * copies and nobody else can make mail skip scanning), one seals originals waiting in the store
 * for their copies. Both derive from `queue.key`; embedded mode without one keeps a generated key
 * in `store.dataDir`, readable only by its owner.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KestrelConfig } from '../config/schema.js';
import { deriveKey, parseKey, QUEUE_KEY_BYTES, readQueueKey, seal, unseal, UnsealError } from '../queue/secret.js';

export interface CopyKeys {
  /** HMAC key for the X-Kestrel-Copy header. */
  header: Buffer;
  /** AES-256-GCM key for originals at rest. */
  original: Buffer;
}

const EMBEDDED_KEY_FILE = 'kestrel.key';

function embeddedKey(dataDir: string): Buffer {
  const file = join(dataDir, EMBEDDED_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    // 'wx': two processes starting together cannot both write a key.
    try {
      writeFileSync(file, `${randomBytes(QUEUE_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the embedded key ${file}: ${(error as Error).message}`);
    }
  }
  return parseKey(readFileSync(file, 'utf8').trim(), file);
}

/**
 * From queue.key, which every process of a cluster must share (with Redis it is required: a
 * copier with a key of its own could not open the originals, and connectors would scan its copies
 * as forged); else, embedded, the key under store.dataDir.
 */
export function copyKeys(config: Pick<KestrelConfig, 'queue' | 'store'>): CopyKeys {
  const root = config.queue.key || config.queue.redisUrl ? readQueueKey(config.queue) : embeddedKey(config.store.dataDir);
  return { header: deriveKey(root, 'copy header'), original: deriveKey(root, 'original at rest') };
}

const ORIGINAL_AAD = Buffer.from('kestrel-original:1');

export function sealOriginal(raw: Buffer, key: Buffer): Buffer {
  return seal(raw, key, ORIGINAL_AAD);
}

/** Throws when the sealed bytes do not authenticate under this key (a different queue.key, or damage). */
export function openOriginal(sealed: Buffer, key: Buffer, flagId: number): Buffer {
  try {
    return unseal(sealed, key, ORIGINAL_AAD);
  } catch (error) {
    if (!(error instanceof UnsealError)) throw error;
    throw new Error(
      error.reason === 'truncated' ? `flag ${flagId}: the stored original is truncated` : `flag ${flagId}: the stored original does not open with this key (was queue.key changed?)`,
    );
  }
}
