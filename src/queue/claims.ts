/**
 * Claims on message keys, so a message arriving from two mailboxes at once (the sender's Sent and
 * the recipient's INBOX fetched in parallel) is scanned by one worker while the other waits for
 * its verdict. In memory within one process (embedded mode); in Redis across a cluster, with a
 * time limit so a worker that died holding a claim cannot block the message for long.
 */
import type { Redis } from 'ioredis';

export interface KeyClaims {
  /** True when this caller now holds the key; false when another holds it. */
  claim(key: string): Promise<boolean>;
  release(key: string): Promise<void>;
}

export class MemoryKeyClaims implements KeyClaims {
  private readonly held = new Set<string>();

  claim(key: string): Promise<boolean> {
    if (this.held.has(key)) return Promise.resolve(false);
    this.held.add(key);
    return Promise.resolve(true);
  }

  release(key: string): Promise<void> {
    this.held.delete(key);
    return Promise.resolve();
  }
}

// Deletes the claim only if it is still ours: one that expired and was taken by another stays.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class RedisKeyClaims implements KeyClaims {
  private readonly owner = `${process.pid}:${Math.random().toString(36).slice(2)}`;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** How long a claim lasts without release: a little over the longest scan. */
    private readonly ttlMs: number,
  ) {}

  async claim(key: string): Promise<boolean> {
    return (await this.redis.set(this.name(key), this.owner, 'PX', this.ttlMs, 'NX')) === 'OK';
  }

  async release(key: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.name(key), this.owner);
  }

  private name(key: string): string {
    return `${this.prefix}:claim:${key}`;
  }
}
