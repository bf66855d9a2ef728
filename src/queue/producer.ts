/**
 * The connectors' sink in a cluster: each message becomes a sealed scan job in Redis. A message
 * is accepted once Redis holds its job; the connector only then moves its checkpoint past it.
 */
import { Queue, type RedisOptions } from 'bullmq';
import type { KestrelConfig } from '../config/schema.js';
import type { FetchedMessage, MessageSink } from '../connect/types.js';
import type { Logger } from '../log.js';
import { jobCodec, type JobCodec, type ScanJobData } from './codec.js';
import { redisConnection, SCAN_QUEUE } from './connection.js';
import { jobIds, type JobIdFor } from './job-id.js';
import { checkRedis } from './redis-check.js';
import { readQueueKey } from './secret.js';

export interface QueueSinkOptions {
  /** Reads `queue.key`, `queue.redisUrl`, the job settings of `queue` and the water marks of `connect`. */
  config: KestrelConfig;
  logger: Logger;
  /** Extra ioredis options for the queue's connection. */
  redis?: RedisOptions;
  /**
   * How long a queue-depth reading answers `saturated()` before Redis is asked again, so a
   * connector can ask before every message. Default 500 ms.
   */
  depthCacheMs?: number;
}

export interface QueueSink extends MessageSink {
  /** The job id a message gets (its position's HMAC). */
  jobId(message: FetchedMessage): string;
  close(): Promise<void>;
}

class BullQueueSink implements QueueSink {
  private readonly queue: Queue<ScanJobData>;
  private readonly codec: JobCodec;
  private readonly idFor: JobIdFor;
  private saturatedNow = false;
  private checkedAt = -Infinity;
  private checking: Promise<boolean> | null = null;
  private unreachable = false;

  constructor(
    private readonly options: QueueSinkOptions,
    queueKey: Buffer,
  ) {
    const { config, logger } = options;
    this.codec = jobCodec(queueKey);
    this.idFor = jobIds(queueKey);
    this.queue = new Queue<ScanJobData>(SCAN_QUEUE, { connection: redisConnection(config.queue, options.redis), prefix: config.queue.prefix });
    this.queue.on('error', (error) => logger.warn({ err: error.message }, 'scan queue: Redis error'));
  }

  jobId(message: FetchedMessage): string {
    return this.idFor(message);
  }

  async accept(message: FetchedMessage): Promise<void> {
    const { attempts, backoffMs, keepCompletedSeconds } = this.options.config.queue;
    const jobId = this.idFor(message);
    // A job with this id already queued (or kept after finishing, or failed) makes this a no-op.
    await this.queue.add(SCAN_QUEUE, await this.codec.encode(message, jobId), {
      jobId,
      attempts,
      backoff: { type: 'exponential', delay: backoffMs },
      removeOnComplete: keepCompletedSeconds === 0 ? true : { age: keepCompletedSeconds },
      // Failed jobs stay until an operator retries or removes them: a message is never dropped.
      removeOnFail: false,
    });
  }

  async saturated(): Promise<boolean> {
    if (performance.now() - this.checkedAt < (this.options.depthCacheMs ?? 500)) return this.saturatedNow;
    this.checking ??= this.readDepth().finally(() => (this.checking = null));
    return this.checking;
  }

  async close(): Promise<void> {
    await this.queue.close();
  }

  /** Hysteresis: saturated above `connect.highWater` waiting jobs, and until below `connect.lowWater`. */
  private async readDepth(): Promise<boolean> {
    const { highWater, lowWater } = this.options.config.connect;
    try {
      const counts = await this.queue.getJobCounts('waiting', 'delayed');
      const backlog = (counts.waiting ?? 0) + (counts.delayed ?? 0);
      this.saturatedNow = this.saturatedNow ? backlog >= lowWater : backlog > highWater;
      if (this.unreachable) this.options.logger.info('scan queue: Redis answers again');
      this.unreachable = false;
    } catch (error) {
      // Messages cannot be queued either: connectors should wait rather than fetch.
      if (!this.unreachable) this.options.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'scan queue: cannot read its depth; pausing fetches');
      this.unreachable = true;
      this.saturatedNow = true;
    }
    this.checkedAt = performance.now();
    return this.saturatedNow;
  }
}

/** Checks the Redis (see redis-check.ts) and opens the sink; the queue key is read first, so a bad key fails before any connection. */
export async function openQueueSink(options: QueueSinkOptions): Promise<QueueSink> {
  const queueKey = readQueueKey(options.config.queue);
  await checkRedis(redisConnection(options.config.queue).url!, options.logger, options.redis);
  return new BullQueueSink(options, queueKey);
}
