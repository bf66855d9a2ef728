/** Where the scan queue lives: one BullMQ queue, named here, under the configured key prefix. */
import type { RedisOptions } from 'bullmq';
import type { KestrelConfig } from '../config/schema.js';

export const SCAN_QUEUE = 'scan';

/** BullMQ connection options for `queue.redisUrl`, plus any extra ioredis options (TLS, timeouts). */
export function redisConnection(queue: KestrelConfig['queue'], extra: RedisOptions = {}): RedisOptions {
  if (!queue.redisUrl) throw new Error('queue.redisUrl (or REDIS_URL) is not set: the scan queue needs Redis');
  return { ...extra, url: queue.redisUrl };
}
