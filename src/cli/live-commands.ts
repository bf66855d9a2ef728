/**
 * The long-running commands that watch live mailboxes:
 * - `kestrel run`: embedded mode, one process with connectors and the pipeline in-line and state in
 *   PGlite (the small-school default); with REDIS_URL it runs a connector and a worker together;
 *   either way it also serves the review UI (review.listen), the only way into an embedded store;
 * - `kestrel connector`: connectors feeding the scan queue (cluster mode);
 * - `kestrel worker`: scan workers taking jobs from the queue (cluster mode);
 * - `kestrel copier`: delivers the copies flags owe, from the copy queue (cluster mode).
 * `run` and `worker` (and `kestrel review`) also run the daily retention purge, UI or not.
 */
import { Redis } from 'ioredis';
import type { KestrelConfig } from '../config/schema.js';
import { startConnector } from '../connect/connector.js';
import { nestedKestrelCopy, type CopyGuard } from '../connect/copy-guard.js';
import { Copier } from '../copy/copier.js';
import { openCopyQueue, startCopyWorker } from '../copy/copy-queue.js';
import { startInlineCopier } from '../copy/inline-copier.js';
import { copyKeys, type CopyKeys } from '../copy/keys.js';
import { createDirectory } from '../directory/directory.js';
import { planOutbox, senderAddress } from '../copy/plan.js';
import { openCopyTransports } from '../copy/transport/transports.js';
import type { SqlFlagStore } from '../flags/store.js';
import type { ProcessDeps } from '../queue/process-message.js';
import type { MessageSink } from '../connect/types.js';
import { openFlagStore } from '../flags/open.js';
import { createScanFeedback, type ScanFeedback } from '../flags/scan-feedback.js';
import { startRetentionSchedule } from '../review/retention-schedule.js';
import { addReviewServer } from './review-command.js';
import { createLogger, type Logger } from '../log.js';
import { createMetrics, type KestrelMetrics } from '../ops/metrics.js';
import { startScanWorker, type ScanWorker } from '../queue/consumer.js';
import { MemoryKeyClaims } from '../queue/claims.js';
import { InlineSink } from '../queue/inline-sink.js';
import { openQueueSink } from '../queue/producer.js';
import { MemorySpreadTracker } from '../scan/spread/tracker.js';
import { openScanPool } from '../scan/pool.js';
import { EXIT, StartupError, UsageError } from './errors.js';
import { threadCount } from './scan-command.js';
import { Service } from './service.js';

export interface LiveOptions {
  /** Stops the command as SIGTERM would (tests). */
  signal?: AbortSignal;
  /** Where logs go; the process's stderr by default. */
  logTo?: NodeJS.WritableStream;
  /** Told once everything has started, with the metrics the command keeps (tests, embedding). */
  onStarted?(metrics: KestrelMetrics): void;
}

function requireAccounts(config: KestrelConfig, command: string): void {
  if (config.accounts.length === 0) {
    throw new UsageError(`${command}: no mailboxes to watch: add an \`accounts\` list to kestrel.yaml (see README "Watching mailboxes")`);
  }
}

function requireSharedStore(config: KestrelConfig, command: string): void {
  // PGlite belongs to one process: connectors and workers on several machines must share PostgreSQL.
  if (!config.store.url) throw new UsageError(`${command}: cluster mode needs PostgreSQL: set store.url or DATABASE_URL`);
}

async function openStore(config: KestrelConfig, logger: Logger, service: Service): Promise<SqlFlagStore> {
  const store = await openFlagStore(config.store, logger);
  service.add({ name: 'flag store', close: () => store.close() });
  service.checks.push({ name: 'flag store', check: async () => void (await store.priorScan('readiness-probe')) });
  return store;
}

function openRedis(config: KestrelConfig, service: Service): Redis {
  // BullMQ-style settings: commands wait for a reconnect instead of failing a lease renewal at once.
  const redis = new Redis(config.queue.redisUrl!, { maxRetriesPerRequest: null, lazyConnect: false });
  redis.on('error', () => {}); // reconnects on its own; the readiness check reports the outage
  service.add({ name: 'redis', close: async () => void (await redis.quit().catch(() => redis.disconnect())) });
  service.checks.push({ name: 'redis', check: async () => void (await redis.ping()) });
  return redis;
}

/** Copies are configured once they have a sender (the config check then requires recipients to be reachable). */
function copiesConfigured(config: KestrelConfig, logger: Logger): boolean {
  const { from } = config.delivery;
  if (from === undefined) {
    logger.warn('no copies are sent: delivery.from is not set, so flags are recorded for review only');
    return false;
  }
  // Bounces of copies come back to the sender's mailbox: only a connector there sees them.
  const sender = senderAddress(from);
  if (config.accounts.length > 0 && !config.accounts.some((a) => a.user.toLowerCase() === sender)) {
    logger.info('delivery.from is not the login of any watched account: unless its mailbox is watched under another login, a copy that bounces after the relay accepted it will not be recorded as failed');
  }
  return true;
}

/** Connectors skip Kestrel's own copies, and a copy seen in a watched mailbox confirms its delivery. */
function copyGuard(keys: CopyKeys, store: SqlFlagStore, service: Service, logger: Logger): CopyGuard {
  return {
    secret: keys.header,
    async seen(messageId) {
      if (await store.confirmCopy(messageId)) service.metrics.copies.inc({ outcome: 'confirmed' });
    },
    async bounced(bounce) {
      const reason = `bounced after the relay accepted it (status ${bounce.status})${bounce.diagnostic ? `: ${bounce.diagnostic}` : ''}`;
      const delivery = await store.bounceCopy(bounce.messageId, bounce.recipient, reason);
      if (delivery === null) return;
      service.metrics.copies.inc({ outcome: 'bounced' });
      logger.error({ delivery, status: bounce.status }, 'a copy bounced: recorded as failed');
    },
  };
}

/**
 * What a scan needs to record a new flag's copies with it. A message that carries one of
 * Kestrel's copies (a bounce, a copy forwarded on) is flagged for review but owes no copy: that
 * is how a bouncing monitor mailbox would otherwise make copies for ever.
 */
function outboxPlanner(config: KestrelConfig, keys: CopyKeys, logger: Logger): Pick<ProcessDeps, 'planOutbox'> {
  return {
    planOutbox(report, raw) {
      if (!report.flagged) return undefined;
      if (nestedKestrelCopy(raw, keys.header) !== undefined) {
        logger.info({ categories: report.categories }, "flagged message carries one of Kestrel's copies (a bounce or a forward): recorded, no copy sent");
        return undefined;
      }
      return planOutbox(report, raw, config, keys.original);
    },
  };
}

function openCopier(config: KestrelConfig, store: SqlFlagStore, keys: CopyKeys, service: Service, logger: Logger): Copier {
  const transports = openCopyTransports(config.delivery, logger);
  service.add({ name: 'copy transports', close: () => transports.close() });
  // A relay that is down or refuses the login is worth saying at once; copies wait and retry meanwhile.
  transports.verify().catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'copy transport check failed: copies will be retried'));
  return new Copier({ config, store, transports, keys, metrics: service.metrics, logger });
}

async function addCopyWorker(config: KestrelConfig, store: SqlFlagStore, keys: CopyKeys, service: Service, logger: Logger): Promise<void> {
  const worker = await startCopyWorker({ config, copier: openCopier(config, store, keys, service, logger), logger, tickMs: config.delivery.sweepSeconds * 1000 });
  service.add(worker);
  service.checks.push({ name: worker.name, check: () => worker.check() });
}

function startConnectors(config: KestrelConfig, service: Service, logger: Logger, store: SqlFlagStore, sink: MessageSink, guard: CopyGuard, redis?: Redis): void {
  const connector = startConnector({ config, sink, checkpoints: store, metrics: service.metrics, logger, copyGuard: guard, ...(redis ? { redis } : {}) });
  service.add({ name: 'connector', close: () => connector.close() });
}

/** The scan worker's side of copies: record them with the flag, and queue them for the copiers. */
function queuedCopies(config: KestrelConfig, keys: CopyKeys, service: Service, logger: Logger): Pick<ProcessDeps, 'planOutbox' | 'onDeliveries'> {
  if (!copiesConfigured(config, logger)) return {};
  const queue = openCopyQueue(config);
  service.add({ name: 'copy queue', close: () => queue.close() });
  return { ...outboxPlanner(config, keys, logger), onDeliveries: (ids) => queue.enqueue(ids.map((id) => ({ id, attempts: 0 })), config.delivery.settleSeconds * 1000 + 100) };
}

/** Reviewers' suppressions and targeted-monitoring authorisations, applied to each scan in this process. */
function scanFeedback(config: KestrelConfig, store: SqlFlagStore, keys: CopyKeys, service: Service, logger: Logger): ScanFeedback {
  return createScanFeedback({ store, keys, logger, metrics: service.metrics, routes: config.routes, directory: createDirectory(config.trust) });
}

/**
 * The daily retention purge, whether or not this process serves the UI. Every process that scans
 * runs it; the purge's lock and its record of the last run make them purge once a day between them.
 */
function addRetentionSchedule(config: KestrelConfig, store: SqlFlagStore, service: Service, logger: Logger): void {
  const schedule = startRetentionSchedule({ store, config, logger });
  service.add({ name: 'retention purge', close: () => schedule.close() });
}

function addWorker(service: Service, worker: ScanWorker): void {
  service.add(worker);
  service.checks.push({ name: worker.name, check: () => worker.check() });
}

async function serve(config: KestrelConfig, options: LiveOptions, start: (service: Service, logger: Logger) => Promise<void>): Promise<number> {
  const logger = createLogger(config, options.logTo);
  const service = new Service(logger, createMetrics());
  try {
    await start(service, logger);
    await service.serveOps(config);
  } catch (error) {
    await service.close();
    if (error instanceof UsageError) throw error;
    throw new StartupError(error instanceof Error ? error.message : String(error));
  }
  options.onStarted?.(service.metrics);
  await service.runUntilStopped(options.signal);
  return EXIT.ok;
}

/** `kestrel run`: embedded without Redis, a connector and a worker in one process with it. */
export async function runLive(config: KestrelConfig, options: LiveOptions = {}): Promise<number> {
  requireAccounts(config, 'run');
  if (config.queue.redisUrl) {
    return serve(config, options, async (service, logger) => {
      const store = await openStore(config, logger, service);
      const keys = copyKeys(config);
      const copies = queuedCopies(config, keys, service, logger);
      if (copies.planOutbox) await addCopyWorker(config, store, keys, service, logger);
      addWorker(service, await startScanWorker({ config, store, metrics: service.metrics, logger, ...copies, feedback: scanFeedback(config, store, keys, service, logger) }));
      addRetentionSchedule(config, store, service, logger);
      await addReviewServer(service, config, store, keys, logger);
      const sink = await openQueueSink({ config, logger });
      service.add({ name: 'scan queue', close: () => sink.close() });
      startConnectors(config, service, logger, store, sink, copyGuard(keys, store, service, logger), openRedis(config, service));
    });
  }
  return serve(config, options, async (service, logger) => {
    const store = await openStore(config, logger, service);
    const pool = openScanPool({
      config,
      threads: threadCount(config),
      recycleAfterJobs: config.workers.recycleAfterJobs,
      recycleHeapMb: config.workers.recycleHeapMb,
    });
    service.add({ name: 'scan pool', close: () => pool.close() });
    const keys = copyKeys(config);
    let copies: Pick<ProcessDeps, 'planOutbox' | 'onDeliveries'> = {};
    if (copiesConfigured(config, logger)) {
      const copier = startInlineCopier(openCopier(config, store, keys, service, logger), logger, {
        tickMs: config.delivery.sweepSeconds * 1000,
        concurrency: config.delivery.smtp?.maxConnections ?? 3,
      });
      service.add({ name: 'copier', close: () => copier.close() });
      // A little after the settle time, so the deliveries are due when the copier looks.
      copies = { ...outboxPlanner(config, keys, logger), onDeliveries: async () => copier.nudge(config.delivery.settleSeconds * 1000 + 100) };
    }
    const sink = new InlineSink({
      ...copies,
      feedback: scanFeedback(config, store, keys, service, logger),
      config,
      store,
      metrics: service.metrics,
      logger,
      scan: (raw, envelope) => pool.scan(raw, envelope),
      spread: config.chainMail.spread.enabled ? new MemorySpreadTracker() : null,
      claims: new MemoryKeyClaims(),
      attempts: config.queue.attempts,
      backoffMs: config.queue.backoffMs,
    });
    logger.info({ accounts: config.accounts.length, threads: threadCount(config) }, 'embedded mode: scanning in this process');
    addRetentionSchedule(config, store, service, logger);
    await addReviewServer(service, config, store, keys, logger);
    startConnectors(config, service, logger, store, sink, copyGuard(keys, store, service, logger));
  });
}

/** `kestrel connector`: watch the accounts this process holds a lease on, and queue their mail. */
export async function runConnectorCommand(config: KestrelConfig, options: LiveOptions = {}): Promise<number> {
  requireAccounts(config, 'connector');
  if (!config.queue.redisUrl) throw new UsageError('connector: set queue.redisUrl or REDIS_URL (without Redis, use `kestrel run`)');
  requireSharedStore(config, 'connector');
  return serve(config, options, async (service, logger) => {
    const store = await openStore(config, logger, service);
    const sink = await openQueueSink({ config, logger });
    service.add({ name: 'scan queue', close: () => sink.close() });
    startConnectors(config, service, logger, store, sink, copyGuard(copyKeys(config), store, service, logger), openRedis(config, service));
  });
}

/** `kestrel worker`: scan queued messages and record the verdicts. */
export async function runWorkerCommand(config: KestrelConfig, options: LiveOptions = {}): Promise<number> {
  if (!config.queue.redisUrl) throw new UsageError('worker: set queue.redisUrl or REDIS_URL');
  requireSharedStore(config, 'worker');
  return serve(config, options, async (service, logger) => {
    const store = await openStore(config, logger, service);
    const keys = copyKeys(config);
    const copies = queuedCopies(config, keys, service, logger);
    addWorker(service, await startScanWorker({ config, store, metrics: service.metrics, logger, ...copies, feedback: scanFeedback(config, store, keys, service, logger) }));
    addRetentionSchedule(config, store, service, logger);
  });
}

/** `kestrel copier`: deliver the copies flags owe, escalate unacknowledged urgent flags, send digests. */
export async function runCopierCommand(config: KestrelConfig, options: LiveOptions = {}): Promise<number> {
  if (!config.queue.redisUrl) throw new UsageError('copier: set queue.redisUrl or REDIS_URL (without Redis, `kestrel run` sends copies itself)');
  requireSharedStore(config, 'copier');
  if (config.delivery.from === undefined) throw new UsageError('copier: nothing to deliver: set delivery.from and the recipients of routes (see README "Copies to the monitor")');
  return serve(config, options, async (service, logger) => {
    const store = await openStore(config, logger, service);
    await addCopyWorker(config, store, copyKeys(config), service, logger);
  });
}
