/**
 * The daily retention purge, at retention.purgeAt in the trust's time zone. Each check asks the
 * store to purge unless a purge ran since the last due time, inside the purge's own lock, so any
 * number of processes running this schedule purge once a day, and one that was down catches up
 * when it starts.
 */
import type { KestrelConfig } from '../config/schema.js';
import { latestDailyTime } from '../copy/schedule.js';
import type { RetentionStore } from '../flags/retention.js';
import type { Logger } from '../log.js';

export interface RetentionScheduleOptions {
  store: Pick<RetentionStore, 'purge'>;
  config: Pick<KestrelConfig, 'retention' | 'delivery'>;
  logger: Logger;
  now?: () => Date;
  /** How often to look whether the purge is due (default 5 minutes). */
  checkMs?: number;
}

export interface RetentionSchedule {
  /** Resolves once a purge under way has finished. */
  close(): Promise<void>;
}

const CHECK_MS = 5 * 60_000;

export function startRetentionSchedule(options: RetentionScheduleOptions): RetentionSchedule {
  const { store, config, logger } = options;
  const now = options.now ?? (() => new Date());
  let running: Promise<void> | null = null;

  async function check(): Promise<void> {
    const at = now();
    const due = latestDailyTime(at, config.retention.purgeAt, config.delivery.timeZone);
    try {
      const counts = await store.purge(config.retention, { actor: 'kestrel', at, unlessRanSince: due });
      if (counts) logger.info({ counts }, 'retention purge done');
    } catch (error) {
      // Tried again at the next check: the purge is one transaction, so a failure deleted nothing.
      logger.error({ err: error instanceof Error ? error.message : String(error) }, 'retention purge failed');
    }
  }

  const tick = (): void => {
    running ??= check().finally(() => (running = null));
  };
  const timer = setInterval(tick, options.checkMs ?? CHECK_MS);
  timer.unref();
  tick();

  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
