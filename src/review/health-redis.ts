/**
 * Pipeline health in a cluster: the BullMQ queues `scan` and `copy` under `queue.prefix`, the
 * connectors' account leases in the same Redis, and the checkpoints in the flag store. Reads
 * counts, job ids, failure reasons and lease holders only: a scan job's data (a sealed message)
 * is never fetched for display.
 */
import { Queue, type RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { KestrelConfig } from '../config/schema.js';
import { leaseKey } from '../connect/leases.js';
import { COPY_QUEUE } from '../copy/copy-queue.js';
import type { StatsStore } from '../flags/stats.js';
import type { Logger } from '../log.js';
import { redisConnection, SCAN_QUEUE } from '../queue/connection.js';
import { connectorStates } from './health-embedded.js';
import type { FailedJob, PipelineHealth, QueueCounts } from './health.js';

const HEALTH_QUEUES = [SCAN_QUEUE, COPY_QUEUE] as const;

export interface RedisHealthOptions {
  /** Reads `queue` (redisUrl, prefix) and the account ids. */
  config: KestrelConfig;
  store: Pick<StatsStore, 'checkpointStates'>;
  logger: Logger;
  /** Extra ioredis options (TLS, timeouts). */
  redis?: RedisOptions;
}

export function createRedisHealth(options: RedisHealthOptions): PipelineHealth {
  const { config, logger } = options;
  const prefix = config.queue.prefix;
  const connection = redisConnection(config.queue, options.redis);
  const queues = new Map(
    HEALTH_QUEUES.map((name) => {
      const queue = new Queue(name, { connection, prefix });
      queue.on('error', (error) => logger.warn({ queue: name, err: error.message }, 'ops view: Redis error'));
      return [name, queue] as const;
    }),
  );
  // A page reading leases fails soon while Redis is away, rather than waiting for it to return.
  const leases = new Redis(connection.url!, { ...options.redis, maxRetriesPerRequest: 1 });
  leases.on('error', (error) => logger.warn({ err: error.message }, 'ops view: Redis error'));

  return {
    async queues() {
      return Promise.all(
        [...queues].map(async ([name, queue]): Promise<QueueCounts> => {
          const counts = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed', 'completed');
          const of = (type: string): number => counts[type] ?? 0;
          return { queue: name, waiting: of('wait') + of('prioritized'), active: of('active'), delayed: of('delayed'), failed: of('failed'), completed: of('completed') };
        }),
      );
    },

    async failedJobs(name, limit) {
      const queue = queues.get(name as (typeof HEALTH_QUEUES)[number]);
      if (!queue || limit < 1) return [];
      const jobs = await queue.getFailed(0, limit - 1);
      // getFailed can hold a hole where a job was removed meanwhile.
      return jobs.filter(Boolean).map(
        (job): FailedJob => ({
          queue: name,
          id: job.id ?? '',
          reason: job.failedReason ?? '',
          attempts: job.attemptsMade,
          failedAt: job.finishedOn ? new Date(job.finishedOn) : null,
        }),
      );
    },

    async retryJob(name, id) {
      const queue = queues.get(name as (typeof HEALTH_QUEUES)[number]);
      const job = queue ? await queue.getJob(id) : undefined;
      if (!job || !(await job.isFailed())) return false;
      // An operator's retry gives the job its whole attempt budget again, as a delivery retry does.
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return true;
    },

    async connectors() {
      const accountIds = config.accounts.map((a) => a.id);
      const checkpoints = await options.store.checkpointStates();
      const accounts = [...new Set([...accountIds, ...checkpoints.map((c) => c.account)])];
      const holders = accounts.length > 0 ? await leases.mget(accounts.map((account) => leaseKey(prefix, account))) : [];
      const holderOf = new Map(accounts.map((account, index) => [account, holders[index] ?? null]));
      return connectorStates(accountIds, checkpoints, (account) => holderOf.get(account) ?? null);
    },

    async close() {
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      await leases.quit().catch(() => leases.disconnect());
    },
  };
}
