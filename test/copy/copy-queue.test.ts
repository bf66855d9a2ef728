/**
 * The cluster's copy queue on a real Redis: a delivery handed over by a scan worker is sent by a
 * copy worker from its job (not only by the sweep), after the settle delay, exactly once however
 * often it is queued; jobs carry a delivery id and nothing from the message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import { Copier } from '../../src/copy/copier.js';
import { COPY_QUEUE, openCopyQueue, startCopyWorker } from '../../src/copy/copy-queue.js';
import { copyKeys } from '../../src/copy/keys.js';
import { openCopyTransports } from '../../src/copy/transport/transports.js';
import { openPglite } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { startSmtpServer, type SmtpTestServer } from '../harness/smtp.js';
import { flaggedReport, occurrence } from '../flags/support.js';
import { waitFor } from '../helpers/wait.js';
import { seedPglite } from '../flags/support.js';

const silent = pino({ level: 'silent' });

let redis: RedisServer;
let smtp: SmtpTestServer;
let dir: string;
let config: KestrelConfig;
let store: SqlFlagStore;

beforeAll(async () => {
  [redis, smtp] = await Promise.all([startRedis(), startSmtpServer()]);
  dir = mkdtempSync(join(tmpdir(), 'kestrel-copy-queue-'));
  config = parseConfig(
    join(dir, 'kestrel.yaml'),
    `trust: { domains: [oakfield.sch.uk] }
queue: { redisUrl: "${redis.url}", key: { value: ${Buffer.alloc(32, 7).toString('base64')} } }
store: { dataDir: ${dir} }
delivery:
  from: kestrel@oakfield.sch.uk
  reviewUrl: https://kestrel.oakfield.sch.uk
  smtp: { host: 127.0.0.1, port: ${smtp.port}, tls: none }
  sweepSeconds: 3600
routes:
  monitor: { categories: ["safety.*"], to: [head@oakfield.sch.uk] }
`,
  );
  seedPglite(dir);
  store = createSqlFlagStore(await openPglite(join(dir, 'pglite')), silent);
  await store.migrate();
});

afterAll(async () => {
  await store?.close();
  await Promise.all([redis?.stop(), smtp?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the copy queue', () => {
  it('delivers a queued delivery from its job, once, after the delay', async () => {
    const transports = openCopyTransports(config.delivery, silent);
    const copier = new Copier({ config, store, transports, keys: copyKeys(config), metrics: createMetrics(), logger: silent });
    // Started first: its opening sweep finds nothing, and the next is an hour away.
    const worker = await startCopyWorker({ config, copier, logger: silent, tickMs: config.delivery.sweepSeconds * 1000 });
    const queue = openCopyQueue(config);
    const inspect = new Queue(COPY_QUEUE, { connection: { url: redis.url }, prefix: config.queue.prefix });
    try {
      const { deliveries } = await store.recordScan('queued', occurrence('queued', 'INBOX', 1), await flaggedReport('queued'), {
        deliveries: [{ recipient: 'head@oakfield.sch.uk', routes: ['monitor'], form: 'minimised', messageId: '<queued-copy@oakfield.sch.uk>' }],
        dueInMs: 500,
      });
      const job = { id: deliveries[0]!, attempts: 0 };
      await queue.enqueue([job], 600);
      await queue.enqueue([job], 600); // a repeat (a retried scan job) is the same job
      const queued = await inspect.getJobs(['delayed', 'waiting', 'active']);
      expect(queued).toHaveLength(1);
      expect(queued[0]!.data).toEqual({ deliveryId: job.id });
      expect(smtp.received).toHaveLength(0);

      await waitFor('the copy sent from its job', async () => (await store.delivery(job.id))?.status === 'sent', 20_000);
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]!.to).toEqual(['head@oakfield.sch.uk']);
      // Done jobs are removed, so the same attempt can be queued again (by a sweep) and finds nothing due.
      expect(await inspect.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
      await queue.enqueue([job]);
      await waitFor('the late job done', async () => Object.values(await inspect.getJobCounts('waiting', 'active', 'delayed')).every((n) => n === 0), 20_000);
      expect(smtp.received).toHaveLength(1);
    } finally {
      await inspect.close();
      await queue.close();
      await worker.close();
      await transports.close();
    }
  });
});
