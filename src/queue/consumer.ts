/**
 * A scan worker: takes sealed jobs from the scan queue, opens them, and runs each message through
 * processMessage on a pool of scan threads.
 *
 * The scan runs in Kestrel's ScanPool threads, not in BullMQ's sandboxed processors. BullMQ's
 * child pool has no per-message timeout, no heap ceiling and no recycling, and a child that exits
 * after a job fails the next job it was handed. The pool gives each message a time bound and a heap
 * ceiling, replaces a thread between messages after `workers.recycleAfterJobs` messages or past
 * `workers.recycleHeapMb`, and never fails a message for recycling. With all CPU work in its threads
 * this process's event loop stays free, so BullMQ keeps renewing the job locks while messages scan.
 */
import { availableParallelism } from 'node:os';
import { Queue, UnrecoverableError, Worker, type Job, type RedisOptions } from 'bullmq';
import type { KestrelConfig } from '../config/schema.js';
import type { FlagStore } from '../flags/types.js';
import type { Logger } from '../log.js';
import type { KestrelMetrics } from '../ops/metrics.js';
import { openScanPool } from '../scan/pool.js';
import { RedisSpreadTracker } from '../scan/spread/redis-tracker.js';
import { Redis } from 'ioredis';
import { RedisKeyClaims } from './claims.js';
import { jobCodec, JobDecodeError, type ScanJobData } from './codec.js';
import { redisConnection, SCAN_QUEUE } from './connection.js';
import { occurrenceOf, processMessage, type ProcessDeps, type ProcessResult } from './process-message.js';
import { messageKey } from '../flags/message-key.js';
import { checkRedis } from './redis-check.js';
import { readQueueKey } from './secret.js';

export interface ScanWorkerOptions extends Pick<ProcessDeps, 'planOutbox' | 'onDeliveries' | 'feedback'> {
  config: KestrelConfig;
  store: FlagStore;
  metrics: KestrelMetrics;
  logger: Logger;
  /** Extra ioredis options (TLS, timeouts) for the worker's connections. */
  redis?: RedisOptions;
  /** How often the queue-depth gauge is refreshed. Default 5 s. */
  depthIntervalMs?: number;
}

export interface ScanWorker {
  readonly name: string;
  /** Messages scanned at once (and scan threads). */
  readonly concurrency: number;
  /** Resolves while the worker takes jobs and Redis answers; for /readyz. */
  check(): Promise<void>;
  /** Stops taking jobs, lets the jobs in flight finish, then stops the scan threads. Safe to call again. */
  close(): Promise<void>;
}

const DEPTH_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Jobs in hand per scan thread (measured with npm run bench:e2e: 2 beat 1 by about a fifth). */
const JOBS_PER_THREAD = 2;

export function workerConcurrency(config: KestrelConfig): number {
  return config.workers.concurrency > 0 ? config.workers.concurrency : availableParallelism();
}

/** Checks the queue key and the Redis (see redis-check.ts), then starts taking jobs. */
export async function startScanWorker(options: ScanWorkerOptions): Promise<ScanWorker> {
  const { config, store, metrics, logger } = options;
  const codec = jobCodec(readQueueKey(config.queue));
  const connection = redisConnection(config.queue, options.redis);
  await checkRedis(connection.url!, logger, options.redis);
  const concurrency = workerConcurrency(config);
  const pool = openScanPool({
    config,
    threads: concurrency,
    recycleAfterJobs: config.workers.recycleAfterJobs,
    recycleHeapMb: config.workers.recycleHeapMb,
    onRecycle: (reason) => logger.debug({ reason }, 'scan thread recycled'),
  });
  // One connection for Kestrel's own keys (claims, spread counts); BullMQ keeps its own.
  const redis = new Redis(connection.url!, { ...options.redis, maxRetriesPerRequest: null });
  redis.on('error', () => {}); // the worker's own listener reports Redis trouble
  const spread = config.chainMail.spread.enabled ? new RedisSpreadTracker(redis, {}, config.queue.prefix) : null;
  // A claim outlives the longest scan (time limit) plus the store write.
  const claims = new RedisKeyClaims(redis, config.queue.prefix, config.scan.timeoutMs * 2 + 5_000);
  const { planOutbox, onDeliveries, feedback } = options;
  const deps: ProcessDeps = {
    config,
    store,
    metrics,
    logger,
    scan: (raw, envelope) => pool.scan(raw, envelope),
    spread,
    claims,
    ...(planOutbox ? { planOutbox } : {}),
    ...(onDeliveries ? { onDeliveries } : {}),
    ...(feedback ? { feedback } : {}),
  };

  const processor = async (job: Job<ScanJobData, ProcessResult>): Promise<ProcessResult> => {
    const jobId = job.id!;
    let message;
    try {
      message = await codec.decode(job.data, jobId);
    } catch (error) {
      if (!(error instanceof JobDecodeError)) throw error;
      // Neither a wrong key nor tampering gets better on a retry.
      metrics.scanned.inc({ outcome: 'failed' });
      throw new UnrecoverableError(error.message);
    }
    const finalAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    try {
      // The result becomes the job's return value in Redis: ids and flags only, nothing from the message.
      return await processMessage(message, deps, { arrivedAt: job.timestamp, finalAttempt, logFields: { job: jobId } });
    } catch (error) {
      // The failed set lives in Redis, which holds only work in flight; the store keeps the failure in view.
      if (finalAttempt) await store.recordFailure(messageKey(message.raw), occurrenceOf(message), error instanceof Error ? error.message : String(error));
      throw error;
    }
  };

  const worker = new Worker<ScanJobData, ProcessResult>(SCAN_QUEUE, processor, {
    connection,
    prefix: config.queue.prefix,
    // Twice the threads: while one job's message is scanned, the next is fetched, opened and its
    // verdict written, so the threads are not idle during Redis and PostgreSQL round trips.
    concurrency: concurrency * JOBS_PER_THREAD,
    lockDuration: config.workers.lockSeconds * 1000,
    // BullMQ fails a job that stalls twice (its worker died twice) by itself, bypassing the processor
    // and so the store's scan_failures; a stall counts like an attempt instead.
    maxStalledCount: config.queue.attempts,
    stalledInterval: config.workers.lockSeconds * 1000,
  });
  worker.on('error', (error) => logger.warn({ err: error.message }, 'scan worker: Redis error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    const fields = { job: job.id, attempts: job.attemptsMade, reason: error.message };
    if (final) logger.error(fields, 'scan job failed for good: it stays in the failed set');
    else logger.warn(fields, 'scan job failed; it will be retried');
  });

  const depth = new Queue(SCAN_QUEUE, { connection, prefix: config.queue.prefix });
  depth.on('error', () => {}); // the worker's own listener reports Redis trouble
  const readDepth = async (): Promise<void> => {
    try {
      const counts = await depth.getJobCounts(...DEPTH_STATES);
      for (const state of DEPTH_STATES) metrics.queueDepth.set({ state }, counts[state] ?? 0);
    } catch (error) {
      logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'cannot read the scan queue depth');
    }
  };
  void readDepth();
  const depthTimer = setInterval(() => void readDepth(), options.depthIntervalMs ?? 5_000);
  depthTimer.unref();

  logger.info({ concurrency, prefix: config.queue.prefix }, 'scan worker started');
  let closing: Promise<void> | null = null;
  return {
    name: 'scan worker',
    concurrency,
    async check() {
      if (!worker.isRunning()) throw new Error('the scan worker is not taking jobs');
      await depth.getJobCounts('waiting');
    },
    close() {
      closing ??= (async () => {
        clearInterval(depthTimer);
        // BullMQ's close waits for the jobs in flight, which need the pool: it closes after them.
        await worker.close();
        await pool.close();
        await redis.quit().catch(() => redis.disconnect());
        await depth.close();
        logger.info('scan worker stopped');
      })();
      return closing;
    },
  };
}
