/**
 * Refuse a Redis that may evict keys: under memory pressure any other `maxmemory-policy` drops
 * queued mail (or BullMQ's own bookkeeping) without an error. Managed services often disable
 * CONFIG, so the policy is read from INFO when CONFIG GET is refused.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.js';

export class RedisPolicyError extends Error {
  override name = 'RedisPolicyError';
}

/** The URL without its password, fit for errors and logs. */
export function describeRedis(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured Redis (queue.redisUrl)';
  }
}

function infoField(info: string, field: string): string | undefined {
  return info.split(/\r?\n/).find((line) => line.startsWith(`${field}:`))?.slice(field.length + 1).trim();
}

async function evictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    if (reply[1] !== undefined) return reply[1];
  } catch {
    // CONFIG is renamed or disabled (managed Redis): INFO says the same.
  }
  return infoField(await redis.info('memory'), 'maxmemory_policy');
}

/** Throws RedisPolicyError unless the server's maxmemory-policy is noeviction; warns when AOF is off. */
export async function checkRedisServer(redis: Redis, where: string, logger: Logger): Promise<void> {
  const policy = await evictionPolicy(redis);
  if (policy === undefined) {
    throw new RedisPolicyError(
      `cannot read maxmemory-policy from ${where} (neither CONFIG GET nor INFO memory report it): Kestrel needs noeviction, so check it is set and allow CONFIG GET or INFO`,
    );
  }
  if (policy !== 'noeviction') {
    throw new RedisPolicyError(
      `${where} has maxmemory-policy ${policy}: it may evict queued messages under memory pressure. Kestrel needs noeviction: ` +
        'set "maxmemory-policy noeviction" in redis.conf (or run CONFIG SET maxmemory-policy noeviction, and CONFIG REWRITE to keep it), ' +
        "or choose noeviction in a managed service's parameter group",
    );
  }
  const aof = infoField(await redis.info('persistence'), 'aof_enabled');
  if (aof === '0') logger.warn({ redis: where }, 'Redis runs without AOF (appendonly no): queued messages are lost if it restarts; set "appendonly yes"');
}

/** Connects to `url`, checks it (see checkRedisServer) and disconnects. */
export async function checkRedis(url: string, logger: Logger, options: RedisOptions = {}): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, ...options });
  const where = `Redis at ${describeRedis(url)}`;
  // ioredis reports why a connection failed as an 'error' event; connect() only says it closed.
  let cause: Error | undefined;
  redis.on('error', (error: Error) => (cause = error));
  try {
    try {
      await redis.connect();
    } catch (error) {
      const reason = cause ?? error;
      throw new Error(`cannot connect to ${where} (queue.redisUrl): ${reason instanceof Error ? reason.message : String(reason)}`);
    }
    await checkRedisServer(redis, where, logger);
  } finally {
    redis.disconnect();
  }
}
