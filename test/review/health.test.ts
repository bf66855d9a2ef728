/**
 * Pipeline health as the ops view reads it. Cluster: a real redis-server, real BullMQ queues with
 * a worker that fails a job, and a real lease manager holding an account; embedded: the store's
 * checkpoints with this process as every configured account's holder.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseManager } from '../../src/connect/leases.js';
import { COPY_QUEUE } from '../../src/copy/copy-queue.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { SCAN_QUEUE } from '../../src/queue/connection.js';
import { createEmbeddedHealth, THIS_PROCESS } from '../../src/review/health-embedded.js';
import { createRedisHealth } from '../../src/review/health-redis.js';
import type { PipelineHealth } from '../../src/review/health.js';
import { type Backend, pgliteBackend, silent } from '../flags/support.js';
import { redisAvailable, startRedis, type RedisServer } from '../harness/redis.js';
import { reviewConfig } from './support.js';

const PREFIX = 'health-test';

function accountsYaml(ids: string[]): string {
  return `accounts:\n${ids.map((id) => `  - { id: ${id}, host: imap.oakfield.sch.uk, user: ${id}@staff.oakfield.sch.uk, password: { value: x } }`).join('\n')}\n`;
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let backend: Backend;
let store: SqlFlagStore;

beforeAll(async () => {
  backend = await pgliteBackend();
  store = createSqlFlagStore((await backend.fresh()).client, silent);
  await store.migrate();
  await store.advanceCheckpoint('staff-a', 'INBOX', { uidValidity: '1', lastUid: 42 });
  await store.advanceCheckpoint('staff-a', 'Sent', { uidValidity: '1', lastUid: 7 });
  await store.advanceCheckpoint('retired', 'INBOX', { uidValidity: '1', lastUid: 3 });
});

afterAll(async () => {
  await store?.close();
  await backend?.stop();
});

describe('embedded health', () => {
  it('has no queues and reports every configured account as held by this process', async () => {
    const health = createEmbeddedHealth({ store, accountIds: ['staff-a', 'staff-b'] });
    expect(await health.queues()).toEqual([]);
    expect(await health.failedJobs(SCAN_QUEUE, 10)).toEqual([]);
    expect(await health.retryJob(SCAN_QUEUE, '1')).toBe(false);
    const connectors = await health.connectors();
    expect(connectors.map((c) => [c.account, c.holder, c.folders.map((f) => `${f.folder}:${f.lastUid}`)])).toEqual([
      ['staff-a', THIS_PROCESS, ['INBOX:42', 'Sent:7']],
      ['staff-b', THIS_PROCESS, []],
      ['retired', null, ['INBOX:3']],
    ]);
    expect(connectors[0]!.folders[0]!.updatedAt).toBeInstanceOf(Date);
    await health.close();
  });
});

describe.skipIf(!redisAvailable())('cluster health on Redis', () => {
  let server: RedisServer;
  let admin: Redis;
  let health: PipelineHealth;
  let scan: Queue;
  let leases: LeaseManager;
  let leaseRedis: Redis;
  let clientsBefore: number;

  const clientCount = async (): Promise<number> => String(await admin.client('LIST')).trim().split('\n').length;

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    clientsBefore = await clientCount();
    const config = reviewConfig(`queue:\n  redisUrl: ${server.url}\n  prefix: ${PREFIX}\n${accountsYaml(['staff-a', 'staff-b'])}`);
    health = createRedisHealth({ config, store, logger: silent });

    // A real worker under the same prefix: one job succeeds, one fails every attempt.
    const connection = { url: server.url };
    scan = new Queue(SCAN_QUEUE, { connection, prefix: PREFIX });
    const worker = new Worker(
      SCAN_QUEUE,
      async (job) => {
        if (job.name === 'broken') throw new Error('scan time limit exceeded');
        return 'ok';
      },
      { connection, prefix: PREFIX },
    );
    await scan.add('fine', { n: 1 }, { jobId: 'fine-1' });
    await scan.add('broken', { n: 2 }, { jobId: 'broken-1', attempts: 2, removeOnFail: false });
    await until(() => scan.getJobCounts('failed', 'completed'), (c) => c.failed === 1 && c.completed === 1, 'one failed and one completed job');
    await worker.close();
    await scan.add('later', { n: 3 }, { jobId: 'waiting-1' });

    leaseRedis = new Redis(server.url, { maxRetriesPerRequest: null });
    leases = new LeaseManager({
      redis: leaseRedis,
      prefix: PREFIX,
      owner: 'connector-1',
      leaseSeconds: 30,
      accounts: ['staff-a'],
      logger: silent,
      onAcquired: () => {},
      onReleasing: async () => {},
    });
    leases.start();
    await until(async () => leases.held(), (held) => held.length === 1, 'the lease');
  }, 30_000);

  afterAll(async () => {
    await leases?.close();
    leaseRedis?.disconnect();
    await scan?.close();
    admin?.disconnect();
    await server?.stop();
  });

  it('counts the jobs of both queues', async () => {
    expect(await health.queues()).toEqual([
      { queue: SCAN_QUEUE, waiting: 1, active: 0, delayed: 0, failed: 1, completed: 1 },
      { queue: COPY_QUEUE, waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 },
    ]);
  });

  it('lists failed jobs with their reason, attempts and time', async () => {
    const failed = await health.failedJobs(SCAN_QUEUE, 10);
    expect(failed).toEqual([{ queue: SCAN_QUEUE, id: 'broken-1', reason: 'scan time limit exceeded', attempts: 2, failedAt: expect.any(Date) }]);
    expect(Date.now() - failed[0]!.failedAt!.getTime()).toBeLessThan(60_000);
    expect(await health.failedJobs(COPY_QUEUE, 10)).toEqual([]);
    expect(await health.failedJobs('no-such-queue', 10)).toEqual([]);
  });

  it('names who holds each account and where each folder has read to', async () => {
    const connectors = await health.connectors();
    expect(connectors.map((c) => [c.account, c.holder, c.folders.map((f) => `${f.folder}:${f.lastUid}`)])).toEqual([
      ['staff-a', 'connector-1', ['INBOX:42', 'Sent:7']],
      ['staff-b', null, []],
      ['retired', null, ['INBOX:3']],
    ]);
  });

  it('retries a failed job with its attempts reset, and nothing else', async () => {
    expect(await health.retryJob(SCAN_QUEUE, 'broken-1')).toBe(true);
    const job = await scan.getJob('broken-1');
    expect(await job!.getState()).toBe('waiting');
    expect(job!.attemptsMade).toBe(0);
    expect(await health.retryJob(SCAN_QUEUE, 'broken-1')).toBe(false); // waiting, not failed
    expect(await health.retryJob(SCAN_QUEUE, 'fine-1')).toBe(false); // completed
    expect(await health.retryJob(SCAN_QUEUE, 'no-such-job')).toBe(false);
    expect(await health.retryJob('no-such-queue', 'broken-1')).toBe(false);
    expect((await health.queues())[0]).toMatchObject({ waiting: 2, failed: 0 });
  });

  it('closes every connection it opened', async () => {
    await health.close();
    // The lease manager and the test's own queue stay; the health's queues and lease reader go.
    await until(clientCount, (n) => n === clientsBefore + 2, 'the health connections to close');
  });
});
