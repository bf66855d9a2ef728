/**
 * Embedded mode's copier: no queue, the flag store is the outbox. A tick every `tickMs` (and a
 * nudge when a flag records new deliveries) runs the housekeeping and delivers what is due, a few
 * at a time, so one slow relay does not hold every copy behind it.
 */
import type { Logger } from '../log.js';
import type { Copier } from './copier.js';

export interface InlineCopier {
  /** Deliver what is due in `delayMs` (default now) rather than at the next tick. */
  nudge(delayMs?: number): void;
  /** Stops ticking and waits for the deliveries in hand. */
  close(): Promise<void>;
}

export interface InlineCopierOptions {
  tickMs?: number;
  /** Deliveries in flight at once. Default 3 (match the SMTP pool's connections). */
  concurrency?: number;
}

export function startInlineCopier(copier: Copier, logger: Logger, options: InlineCopierOptions = {}): InlineCopier {
  const tickMs = options.tickMs ?? 15_000;
  const concurrency = options.concurrency ?? 3;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;

  const pass = async (): Promise<void> => {
    do {
      again = false;
      let due: Array<{ id: number }>;
      try {
        due = await copier.housekeeping();
      } catch (error) {
        logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'copier: cannot read the outbox; trying again at the next tick');
        return;
      }
      const queue = due.map((d) => d.id);
      const work = async (): Promise<void> => {
        for (let id = queue.shift(); id !== undefined && !closed; id = queue.shift()) {
          await copier.deliver(id).catch((error: unknown) => logger.warn({ delivery: id, err: error instanceof Error ? error.message : String(error) }, 'copier: delivery attempt failed; it stays due'));
        }
      };
      await Promise.all(Array.from({ length: concurrency }, work));
    } while (again && !closed);
  };

  const run = (): void => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = pass().finally(() => (running = null));
  };

  const timer = setInterval(run, tickMs);
  timer.unref();
  run();
  const nudges = new Set<NodeJS.Timeout>();
  return {
    nudge(delayMs = 0) {
      if (delayMs <= 0) return run();
      const timer = setTimeout(() => {
        nudges.delete(timer);
        run();
      }, delayMs);
      timer.unref();
      nudges.add(timer);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      for (const nudge of nudges) clearTimeout(nudge);
      await running;
    },
  };
}
