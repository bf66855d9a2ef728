/**
 * Cluster mode's copy queue: a BullMQ queue of its own (`copy`), taken by `kestrel copier`
 * processes. A job names a delivery and holds nothing else: the copy is composed from the flag
 * store when it is sent, so Redis never holds mail or addresses. The store stays the source of
 * truth: a job lost with Redis, or never queued, is found by the copiers' sweep.
 */
import { Queue, Worker, type Job, type RedisOptions } from 'bullmq';
import type { KestrelConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { redisConnection } from '../queue/connection.js';
import type { Copier, DeliverOutcome } from './copier.js';

export const COPY_QUEUE = 'copy';

export interface CopyJobData {
  deliveryId: number;
}

export interface CopyQueue {
  /** Queues each delivery once per attempt number (the job id), so a sweep re-queuing it is harmless. */
  enqueue(deliveries: Array<{ id: number; attempts: number }>, delayMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function openCopyQueue(config: KestrelConfig, redis?: RedisOptions): CopyQueue {
  const queue = new Queue<CopyJobData>(COPY_QUEUE, {
    connection: redisConnection(config.queue, redis),
    prefix: config.queue.prefix,
    defaultJobOptions: {
      // Retries here are for the store or Redis being away; delivery retries live on the delivery record.
      attempts: config.queue.attempts,
      backoff: { type: 'exponential', delay: config.queue.backoffMs },
      // Gone once done: a job id only has to stop two jobs for one attempt being queued at once.
      // A finished job kept would hold its id, and the sweep could not queue that attempt again.
      removeOnComplete: true,
      removeOnFail: true,
    },
  });
  queue.on('error', () => {}); // callers see failures as rejected enqueues
  return {
    async enqueue(deliveries, delayMs = 0) {
      if (deliveries.length === 0) return;
      await queue.addBulk(deliveries.map((d) => ({ name: 'deliver', data: { deliveryId: d.id }, opts: { jobId: `d${d.id}-${d.attempts}`, delay: delayMs } })));
    },
    close: () => queue.close(),
  };
}

export interface CopyWorkerOptions {
  config: KestrelConfig;
  copier: Copier;
  logger: Logger;
  redis?: RedisOptions;
  /** How often the sweep runs (escalations, digests, deliveries due). Default 15 s. */
  tickMs?: number;
  /** Copies sent at once by this process. Default: the SMTP pool's connections, so no send waits for one past its lease. */
  concurrency?: number;
}

export interface CopyWorker {
  readonly name: string;
  check(): Promise<void>;
  close(): Promise<void>;
}

export async function startCopyWorker(options: CopyWorkerOptions): Promise<CopyWorker> {
  const { config, copier, logger } = options;
  const connection = redisConnection(config.queue, options.redis);
  const queue = openCopyQueue(config, options.redis);
  const worker = new Worker<CopyJobData, DeliverOutcome>(COPY_QUEUE, (job: Job<CopyJobData, DeliverOutcome>) => copier.deliver(job.data.deliveryId), {
    connection,
    prefix: config.queue.prefix,
    concurrency: options.concurrency ?? config.delivery.smtp?.maxConnections ?? 3,
    lockDuration: copier.leaseMs,
  });
  worker.on('error', (error) => logger.warn({ err: error.message }, 'copy worker: Redis error'));
  worker.on('failed', (job, error) => logger.warn({ job: job?.id, reason: error.message }, 'copy job failed; BullMQ retries it, and the sweep finds it otherwise'));

  let sweeping: Promise<void> | null = null;
  const sweep = (): void => {
    sweeping ??= copier
      .housekeeping()
      .then((due) => queue.enqueue(due))
      .catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'copier sweep failed; trying again at the next tick'))
      .finally(() => (sweeping = null));
  };
  const timer = setInterval(sweep, options.tickMs ?? 15_000);
  timer.unref();
  sweep();
  logger.info({ prefix: config.queue.prefix }, 'copier started');

  let closing: Promise<void> | null = null;
  return {
    name: 'copier',
    async check() {
      if (!worker.isRunning()) throw new Error('the copier is not taking jobs');
    },
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        await sweeping;
        await worker.close();
        await queue.close();
        logger.info('copier stopped');
      })();
      return closing;
    },
  };
}
