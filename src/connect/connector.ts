/**
 * The connector: watches every account this process holds and hands their mail to the sink. With
 * Redis, accounts are shared between connector processes by leases; without it (embedded mode)
 * this process holds them all. Accounts are independent: one that cannot log in backs off on its
 * own while the others carry on.
 */
import type { CopyGuard } from './copy-guard.js';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { KestrelConfig } from '../config/schema.js';
import type { CheckpointStore } from '../flags/types.js';
import type { Logger } from '../log.js';
import type { ConnectorState, KestrelMetrics } from '../ops/metrics.js';
import { AccountWatcher } from './account-watcher.js';
import { LeaseManager } from './leases.js';
import type { MessageSink } from './types.js';

export interface ConnectorOptions {
  config: KestrelConfig;
  sink: MessageSink;
  checkpoints: CheckpointStore;
  metrics: KestrelMetrics;
  logger: Logger;
  /** Shares the accounts with other connectors; without it every account is watched here. */
  redis?: Redis;
  /** Verifies the copier's signed header: verified copies are skipped (and reported seen). Without it nothing is skipped. */
  copyGuard?: CopyGuard;
  /** This process's name in leases; host, pid and a random suffix by default. */
  owner?: string;
  /** Timing knobs, for tests. */
  tuning?: ConnectorTuning;
}

export interface ConnectorTuning {
  /** How often a saturated sink is asked again (default 1 s). */
  saturationPollMs?: number;
  /** How often free accounts are looked for (default a few seconds). */
  leaseSweepMs?: number;
}

export interface ConnectorHandle {
  /** This process's lease owner name. */
  readonly owner: string;
  /** Resolves once every folder of every account held now has caught up and waits for news. */
  idle(): Promise<void>;
  /** The accounts this process watches now. */
  heldAccounts(): string[];
  states(): Record<string, ConnectorState>;
  /** Stops fetching, lets messages in hand reach the sink, logs out, releases the leases. */
  close(): Promise<void>;
}

export function startConnector(options: ConnectorOptions): ConnectorHandle {
  const { config, logger, metrics } = options;
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const log = logger.child({ component: 'connector', owner });
  const watchers = new Map<string, AccountWatcher>();
  const idleWaiters = new Set<() => void>();
  let closing = false;

  const caughtUp = () => [...watchers.values()].every((watcher) => watcher.caughtUp());
  const changed = () => {
    if (idleWaiters.size === 0 || !caughtUp()) return;
    for (const resolve of idleWaiters) resolve();
    idleWaiters.clear();
  };

  const settings = {
    reconnectMinMs: config.connect.reconnectMinMs,
    reconnectMaxMs: Math.max(config.connect.reconnectMinMs, config.connect.reconnectMaxMs),
    maxMessageBytes: config.queue.maxMessageBytes,
    saturationPollMs: options.tuning?.saturationPollMs ?? 1_000,
  };

  const watch = (accountId: string) => {
    const account = config.accounts.find((a) => a.id === accountId);
    if (!account || closing || watchers.has(accountId)) return;
    const watcher = new AccountWatcher({
      account,
      sink: options.sink,
      checkpoints: options.checkpoints,
      metrics,
      logger: log,
      copyGuard: options.copyGuard,
      settings,
      onChange: changed,
    });
    watchers.set(accountId, watcher);
    watcher.start();
  };

  const unwatch = async (accountId: string) => {
    const watcher = watchers.get(accountId);
    if (!watcher) return;
    await watcher.stop();
    watchers.delete(accountId);
    changed();
  };

  const accountIds = config.accounts.map((a) => a.id);
  const leases = options.redis
    ? new LeaseManager({
        redis: options.redis,
        prefix: config.queue.prefix,
        owner,
        leaseSeconds: config.connect.leaseSeconds,
        accounts: accountIds,
        logger: log,
        ...(options.tuning?.leaseSweepMs !== undefined ? { sweepMs: options.tuning.leaseSweepMs } : {}),
        onAcquired: watch,
        onReleasing: unwatch,
      })
    : undefined;

  log.info({ accounts: accountIds.length, shared: leases !== undefined }, 'connector starting');
  if (leases) leases.start();
  else for (const id of accountIds) watch(id);

  return {
    owner,
    idle() {
      if (caughtUp()) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.add(resolve));
    },
    heldAccounts: () => [...watchers.keys()],
    states: () => Object.fromEntries([...watchers].map(([id, watcher]) => [id, watcher.state()])),
    async close() {
      if (closing) return;
      closing = true;
      if (leases) await leases.close();
      await Promise.all([...watchers.keys()].map(unwatch));
      log.info('connector stopped');
    },
  };
}
