/**
 * Account leases in Redis, so several connector processes share the accounts and each mailbox is
 * watched by exactly one of them. A lease is `SET kestrel:lease:<prefix>:<account> <owner> NX PX`,
 * renewed every third of its life by a compare-and-PEXPIRE and released by a compare-and-DEL, so
 * one connector never extends or frees another's. A sweep every few seconds takes free accounts
 * (a dead connector's leases expire, and its accounts move on within `leaseSeconds` plus a sweep)
 * up to a fair share: connectors announce themselves in a sorted set that expires members who
 * stop announcing, and one holding more than its share hands the excess back.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
// Server time, so connectors on machines with skewed clocks agree on who is alive.
const ANNOUNCE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 4)
return redis.call('ZCARD', KEYS[1])`;

export function leaseKey(prefix: string, account: string): string {
  return `kestrel:lease:${prefix}:${account}`;
}

function connectorsKey(prefix: string): string {
  return `kestrel:connectors:${prefix}`;
}

export type ReleaseReason = 'lost' | 'rebalance' | 'closing';

export interface LeaseManagerOptions {
  redis: Redis;
  prefix: string;
  owner: string;
  leaseSeconds: number;
  accounts: string[];
  logger: Logger;
  /** How often free accounts are looked for; a few seconds by default. */
  sweepMs?: number;
  /** The lease is ours: start watching. */
  onAcquired(account: string): void;
  /** The lease is going (or gone): resolve once nothing watches the account any more. */
  onReleasing(account: string, reason: ReleaseReason): Promise<void>;
}

interface Holding {
  /** `releasing`: its watchers are stopping; the lease is still renewed meanwhile unless it was lost. */
  state: 'held' | 'releasing';
  renew: boolean;
  confirmedAt: number;
  acquiredAt: number;
}

export class LeaseManager {
  private readonly holdings = new Map<string, Holding>();
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly sweepMs: number;
  private readonly order: string[];
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private sweeping: Promise<void> = Promise.resolve();
  private renewing: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeaseManagerOptions) {
    this.leaseMs = options.leaseSeconds * 1000;
    this.renewMs = Math.floor(this.leaseMs / 3);
    this.sweepMs = options.sweepMs ?? Math.min(5_000, this.renewMs);
    // Each connector tries free accounts from its own starting point, so two sweeping at once
    // rarely race for the same account.
    const offset = createHash('sha256').update(options.owner).digest().readUInt32BE(0) % Math.max(1, options.accounts.length);
    this.order = [...options.accounts.slice(offset), ...options.accounts.slice(0, offset)];
  }

  held(): string[] {
    return [...this.holdings].filter(([, h]) => h.state === 'held').map(([account]) => account);
  }

  start(): void {
    this.schedule(() => (this.sweeping = this.sweep()), 0, this.sweepMs);
    this.schedule(() => (this.renewing = this.renew()), this.renewMs, this.renewMs);
  }

  /** Stops sweeping and renewing, has every account's watchers stopped, then frees the leases. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all([this.sweeping, this.renewing]);
    await Promise.all(this.held().map((account) => this.release(account, 'closing')));
    await this.options.redis.zrem(connectorsKey(this.options.prefix), this.options.owner).catch(() => undefined);
  }

  /** Runs `task` after `firstMs`, then `everyMs` after each run ends (runs never overlap). */
  private schedule(task: () => Promise<void>, firstMs: number, everyMs: number): void {
    const slot = this.timers.length;
    const tick = async () => {
      if (this.closed) return;
      try {
        await task();
      } catch (error) {
        this.options.logger.warn({ error: (error as Error).message }, 'lease upkeep failed');
      }
      if (!this.closed) this.timers[slot] = setTimeout(tick, everyMs);
    };
    this.timers.push(setTimeout(tick, firstMs));
  }

  private async sweep(): Promise<void> {
    const { redis, prefix, owner, accounts } = this.options;
    const live = Number(await redis.eval(ANNOUNCE, 1, connectorsKey(prefix), owner, String(this.leaseMs)));
    const share = Math.ceil(accounts.length / Math.max(1, live));
    const held = this.held();
    if (held.length > share) {
      const newest = [...held].sort((a, b) => this.acquiredAt(b) - this.acquiredAt(a)).slice(0, held.length - share);
      await Promise.all(newest.map((account) => this.release(account, 'rebalance')));
      return;
    }
    let holding = held.length;
    for (const account of this.order) {
      if (this.closed || holding >= share) break;
      if (this.holdings.has(account)) continue;
      const taken = await redis.set(leaseKey(prefix, account), owner, 'PX', this.leaseMs, 'NX');
      if (taken !== 'OK' || this.closed) {
        if (taken === 'OK') await redis.eval(RELEASE, 1, leaseKey(prefix, account), owner);
        continue;
      }
      const now = Date.now();
      this.holdings.set(account, { state: 'held', renew: true, confirmedAt: now, acquiredAt: now });
      holding++;
      this.options.logger.info({ account, owner }, 'lease acquired');
      this.options.onAcquired(account);
    }
  }

  private acquiredAt(account: string): number {
    return this.holdings.get(account)?.acquiredAt ?? 0;
  }

  private async renew(): Promise<void> {
    const { redis, prefix, owner, logger } = this.options;
    await Promise.all(
      [...this.holdings.keys()].map(async (account) => {
        const holding = this.holdings.get(account);
        if (!holding?.renew) return;
        let renewed: boolean;
        try {
          renewed = Number(await redis.eval(RENEW, 1, leaseKey(prefix, account), owner, String(this.leaseMs))) === 1;
        } catch (error) {
          // Redis unreachable: keep watching only while the last confirmed lease is surely still ours.
          if (Date.now() - holding.confirmedAt < this.leaseMs - this.renewMs) return;
          if (holding.state === 'releasing') return;
          logger.warn({ account, error: (error as Error).message }, 'cannot renew the lease: stopping the account before it expires');
          await this.drop(account, 'lost');
          return;
        }
        if (renewed) {
          holding.confirmedAt = Date.now();
          return;
        }
        holding.renew = false;
        if (holding.state === 'releasing') return;
        logger.warn({ account }, 'lease lost (expired or taken by another connector): stopping the account');
        await this.drop(account, 'lost');
      }),
    );
  }

  /** Stops the account's watchers without touching the lease (it is not ours, or cannot be reached). */
  private async drop(account: string, reason: ReleaseReason): Promise<void> {
    const holding = this.holdings.get(account);
    if (!holding || holding.state === 'releasing') return;
    holding.state = 'releasing';
    if (reason === 'lost') holding.renew = false;
    try {
      await this.options.onReleasing(account, reason);
    } finally {
      this.holdings.delete(account);
    }
  }

  /** Stops the account's watchers, then frees the lease for another connector. */
  private async release(account: string, reason: ReleaseReason): Promise<void> {
    const { redis, prefix, owner, logger } = this.options;
    await this.drop(account, reason);
    try {
      await redis.eval(RELEASE, 1, leaseKey(prefix, account), owner);
      logger.info({ account, reason }, 'lease released');
    } catch (error) {
      logger.warn({ account, error: (error as Error).message }, 'could not release the lease: it expires on its own');
    }
  }
}
