/**
 * The spread tracker for a worker cluster: every worker process sees every other's observations.
 * One sorted set per fingerprint band (`<queue prefix>:spread:<band index>:<band>`), members
 * `<fingerprint>:<sender hash>` scored by time; a band is read, written and trimmed to the window
 * in one MULTI, and expires a window after its last write, so Redis holds nothing older.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { bands, hammingDistance, MAX_DISTANCE } from './fingerprint.js';
import type { SpreadObservation, SpreadTracker } from './tracker.js';

export class RedisSpreadTracker implements SpreadTracker {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly prefix: string;

  /**
   * Give a URL (the tracker owns and closes its connection) or a connection to share. `prefix` is
   * the queue's key prefix, so two trusts sharing one Redis keep their counts apart.
   */
  constructor(connection: string | Redis, options: RedisOptions = {}, prefix = 'kestrel') {
    this.prefix = `${prefix}:spread:`;
    this.owned = typeof connection === 'string';
    this.redis = typeof connection === 'string' ? new Redis(connection, { lazyConnect: false, maxRetriesPerRequest: 3, ...options }) : connection;
    // ioredis reconnects by itself; a failed observe() reports the outage to its caller.
    if (this.owned) this.redis.on('error', () => {});
  }

  async observe({ fingerprints, sender, at }: SpreadObservation, windowMs: number): Promise<number> {
    const keys: Array<{ key: string; fingerprint: string }> = [];
    const multi = this.redis.multi();
    for (const fingerprint of fingerprints) {
      bands(fingerprint).forEach((band, i) => {
        const key = `${this.prefix}${i}:${band}`;
        keys.push({ key, fingerprint });
        multi.zrangebyscore(key, at - windowMs, at + windowMs);
        multi.zadd(key, at, `${fingerprint}:${sender}`);
        multi.zremrangebyscore(key, '-inf', `(${at - windowMs}`);
        multi.pexpire(key, windowMs * 2);
      });
    }
    const replies = await multi.exec();
    if (!replies) throw new Error('spread tracker: Redis transaction was aborted');
    const senders = new Set<string>([sender]);
    keys.forEach(({ fingerprint }, i) => {
      const [error, members] = replies[i * 4]!;
      if (error) throw error;
      for (const member of members as string[]) {
        const colon = member.indexOf(':');
        if (hammingDistance(member.slice(0, colon), fingerprint) <= MAX_DISTANCE) senders.add(member.slice(colon + 1));
      }
    });
    return senders.size;
  }

  async close(): Promise<void> {
    if (this.owned) await this.redis.quit();
  }
}
