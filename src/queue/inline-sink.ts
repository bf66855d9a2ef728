/**
 * Embedded mode's sink: no queue, the connector's message is scanned and recorded before `accept`
 * resolves, so the checkpoint moves only past recorded messages (the cluster's guarantee, in one
 * process). A message that fails every attempt is recorded in the store's scan failures, so the
 * folder moves on without losing sight of it; if even that cannot be recorded, `accept` rejects
 * and the connector tries the message again later.
 */
import type { MessageSink, FetchedMessage } from '../connect/types.js';
import { messageKey } from '../flags/message-key.js';
import { ScanLimitError } from '../scan/pool.js';
import { occurrenceOf, processMessage, type ProcessDeps } from './process-message.js';

export interface InlineSinkOptions extends ProcessDeps {
  /** Attempts per message (config queue.attempts); a scan limit is tried at most twice. */
  attempts: number;
  /** First retry delay, doubled each time (config queue.backoffMs). */
  backoffMs: number;
}

/** A time or memory limit may be load; hit twice, it is the message. */
const LIMIT_ATTEMPTS = 2;

export class InlineSink implements MessageSink {
  constructor(private readonly options: InlineSinkOptions) {}

  async accept(message: FetchedMessage): Promise<void> {
    const { attempts, backoffMs, logger } = this.options;
    const arrivedAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await processMessage(message, this.options, { arrivedAt, finalAttempt: attempt >= attempts, logFields: { attempt } });
        return;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const last = attempt >= (error instanceof ScanLimitError ? Math.min(attempts, LIMIT_ATTEMPTS) : attempts);
        if (last) {
          // processMessage counted a failure only if it knew this was the last attempt.
          if (attempt < attempts) this.options.metrics.scanned.inc({ outcome: 'failed' });
          await this.options.store.recordFailure(messageKey(message.raw), occurrenceOf(message), reason);
          return;
        }
        logger.warn({ account: message.account, uid: message.uid, attempt, reason }, 'scan failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)));
      }
    }
  }

  saturated(): Promise<boolean> {
    // The connector already waits for each message to be recorded: nothing piles up.
    return Promise.resolve(false);
  }
}
