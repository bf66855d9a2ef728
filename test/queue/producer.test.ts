/**
 * The queue sink against a real redis-server: idempotent job ids, the saturation hysteresis the
 * connectors pause on, and the refusal of a Redis that may evict queued mail.
 */
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openQueueSink, type QueueSink } from '../../src/queue/producer.js';
import { checkRedis, RedisPolicyError } from '../../src/queue/redis-check.js';
import { freePort, startRedis, type RedisServer } from '../harness/redis.js';
import { capturingLogger, CLEAN_BODY, inspect, message, newKey, queueConfig, uniquePrefix } from './helpers.js';

let server: RedisServer;
const closing: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  server = await startRedis();
});
afterEach(async () => {
  await Promise.all(closing.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await server?.stop();
});

async function sinkAndQueue(yaml = '', depthCacheMs?: number): Promise<{ sink: QueueSink; queue: Queue }> {
  const config = queueConfig({ redisUrl: server.url, key: newKey(), prefix: uniquePrefix(), yaml });
  const sink = await openQueueSink({ config, logger: capturingLogger().logger, ...(depthCacheMs === undefined ? {} : { depthCacheMs }) });
  const queue = inspect(config);
  closing.push(sink, queue);
  return { sink, queue };
}

describe('queue sink', () => {
  it('queues one job per mailbox position however often it is accepted', async () => {
    const { sink, queue } = await sinkAndQueue();
    const first = message('idem', CLEAN_BODY, { uid: 7 });
    await sink.accept(first);
    await sink.accept(first);
    await sink.accept(message('idem', CLEAN_BODY, { uid: 7 })); // the same position fetched again
    await sink.accept(message('idem', CLEAN_BODY, { uid: 8 })); // another position: another job
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 2 });
    const job = await queue.getJob(sink.jobId(first));
    expect(job?.opts).toMatchObject({ attempts: 3, backoff: { type: 'exponential', delay: 10 }, removeOnComplete: { age: 3600 }, removeOnFail: false });
  });

  it('is saturated above connect.highWater and until the backlog is below connect.lowWater', async () => {
    const { sink, queue } = await sinkAndQueue('connect:\n  highWater: 3\n  lowWater: 2', 0);
    const ids: string[] = [];
    const backlog: boolean[] = [];
    for (let uid = 1; uid <= 4; uid++) {
      const m = message(`sat${uid}`, CLEAN_BODY, { uid });
      await sink.accept(m);
      ids.push(sink.jobId(m));
      backlog.push(await sink.saturated());
    }
    // 1, 2, 3 waiting: not above 3; 4 waiting: saturated.
    expect(backlog).toEqual([false, false, false, true]);
    const draining: boolean[] = [];
    for (const id of ids) {
      await queue.remove(id);
      draining.push(await sink.saturated());
    }
    // 3 and 2 left: not yet below 2; 1 and 0 left: resumed.
    expect(draining).toEqual([true, true, false, false]);
  });

  it('keeps queued jobs across a Redis restart with AOF, even after a SIGKILL', async () => {
    const durable = await startRedis({ aof: 'always' });
    try {
      const config = queueConfig({ redisUrl: durable.url, key: newKey(), prefix: uniquePrefix() });
      const sink = await openQueueSink({ config, logger: capturingLogger().logger });
      const m = message('durable', CLEAN_BODY, { uid: 1 });
      await sink.accept(m);
      await sink.close();
      await durable.restart({ kill: true });
      const queue = inspect(config);
      expect(await queue.getJobState(sink.jobId(m))).toBe('waiting');
      await queue.close();
    } finally {
      await durable.stop();
    }
  });

  it('answers saturated() from a recent reading without asking Redis each time', async () => {
    const { sink } = await sinkAndQueue('connect:\n  highWater: 1\n  lowWater: 0', 60_000);
    expect(await sink.saturated()).toBe(false);
    await sink.accept(message('cache1', CLEAN_BODY, { uid: 1 }));
    await sink.accept(message('cache2', CLEAN_BODY, { uid: 2 }));
    // Above the high-water mark now, but the reading is under a minute old.
    expect(await sink.saturated()).toBe(false);
  });
});

describe('Redis eviction policy', () => {
  const others: RedisServer[] = [];
  afterAll(async () => {
    await Promise.all(others.map((s) => s.stop()));
  });

  async function redisWith(options: Parameters<typeof startRedis>[0]): Promise<RedisServer> {
    const started = await startRedis(options);
    others.push(started);
    return started;
  }

  it('refuses a Redis that may evict keys, saying how to fix it', async () => {
    const lru = await redisWith({ maxmemoryPolicy: 'allkeys-lru' });
    const error = await checkRedis(lru.url, capturingLogger().logger).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(RedisPolicyError);
    expect((error as Error).message).toMatch(
      new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${lru.port} has maxmemory-policy allkeys-lru: .*Kestrel needs noeviction: set "maxmemory-policy noeviction" in redis\\.conf`),
    );
    // The sink will not open on it either.
    const config = queueConfig({ redisUrl: lru.url, key: newKey(), prefix: uniquePrefix() });
    await expect(openQueueSink({ config, logger: capturingLogger().logger })).rejects.toThrow(/has maxmemory-policy allkeys-lru/);
  });

  it('reads the policy from INFO where CONFIG is disabled, as on managed Redis', async () => {
    const managedLru = await redisWith({ maxmemoryPolicy: 'volatile-lru', disableConfig: true });
    const probe = new Redis(managedLru.url);
    await expect(probe.call('CONFIG', 'GET', 'maxmemory-policy')).rejects.toThrow(/unknown command/);
    probe.disconnect();
    await expect(checkRedis(managedLru.url, capturingLogger().logger)).rejects.toThrow(/has maxmemory-policy volatile-lru/);
    const managed = await redisWith({ disableConfig: true, aof: 'everysec' });
    const { logger, lines } = capturingLogger();
    await checkRedis(managed.url, logger);
    expect(lines.filter((l) => l.level === 40)).toEqual([]);
  });

  it('accepts noeviction and warns when AOF is off, without printing a password', async () => {
    const { logger, lines } = capturingLogger();
    await checkRedis(server.url, logger);
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
      'Redis runs without AOF (appendonly no): queued messages are lost if it restarts; set "appendonly yes"',
    ]);
    const port = await freePort();
    const error = await checkRedis(`redis://:hunter2-secret@127.0.0.1:${port}`, logger).catch((e: unknown) => e as Error);
    expect((error as Error).message).toMatch(new RegExp(`^cannot connect to Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}/? \\(queue\\.redisUrl\\): .*ECONNREFUSED`));
    expect((error as Error).message).not.toContain('hunter2');
  });
});
