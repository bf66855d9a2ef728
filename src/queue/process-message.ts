/**
 * What happens to one fetched message, in a cluster worker or in-line in embedded mode: a message
 * already scanned (the same mail seen in another mailbox) is not scanned again, flagged mail gains
 * this mailbox as an occurrence, and everything else is scanned, run through the chain-mail spread
 * stage and recorded.
 */
import type { KestrelConfig } from '../config/schema.js';
import { QUEUE_SIZE_CAP_REASON } from '../connect/oversize.js';
import type { FetchedMessage, JournalEnvelope } from '../connect/types.js';
import { messageKey } from '../flags/message-key.js';
import type { ScanFeedback } from '../flags/scan-feedback.js';
import type { FlagStore, Occurrence, Outbox, PriorScan, RecordResult } from '../flags/types.js';
import type { Logger } from '../log.js';
import type { KestrelMetrics } from '../ops/metrics.js';
import type { ScanReport } from '../scan/pipeline.js';
import { formatMb } from '../scan/pool.js';
import { applySpread } from '../scan/spread/stage.js';
import type { SpreadTracker } from '../scan/spread/tracker.js';
import type { KeyClaims } from './claims.js';

export interface ProcessDeps {
  config: KestrelConfig;
  store: FlagStore;
  metrics: KestrelMetrics;
  logger: Logger;
  /** Scans one message: a ScanPool's `scan`, so the CPU work stays off the caller's event loop. */
  scan(raw: Buffer, envelope?: JournalEnvelope): Promise<ScanReport>;
  /** The chain-mail spread counts (Redis in a cluster, memory embedded); null when spread is off. */
  spread: SpreadTracker | null;
  /** Claims on message keys, so copies of one message arriving together are scanned once. */
  claims?: KeyClaims;
  /** The copies a new flag owes (copy/plan.ts), recorded with it; absent when no copies are configured. */
  planOutbox?(report: ScanReport, raw: Buffer): Outbox | undefined;
  /**
   * Told of the deliveries a new flag recorded, to send them now (queue them, or wake the embedded
   * copier). Best effort: the copier's own sweep finds any it was not told of.
   */
  onDeliveries?(deliveries: number[]): Promise<void>;
  /**
   * Reviewers' decisions fed back: suppressions applied before the verdict is recorded, and the
   * message kept after it is recorded (each copy: another mailbox's may show another party)
   * while a targeted-monitoring authorisation covers a party.
   */
  feedback?: ScanFeedback;
}

export interface ProcessContext {
  /** When the message reached the queue (or the embedded sink), for the latency metric. Default: now. */
  arrivedAt?: number;
  /** False while a failure will be retried: only a message's last failure counts as `failed`. Default true. */
  finalAttempt?: boolean;
  /** Log fields naming this piece of work (a job id). */
  logFields?: Record<string, string | number>;
}

export interface ProcessResult {
  flagId: number | null;
  /** True when this call recorded the verdict; false when another worker (or mailbox) had already. */
  created: boolean;
  /** True when the message had been scanned before and was not scanned again. */
  duplicate: boolean;
}

/** Records the parts the connector left behind, so the flag (and the review) shows the scan was partial. */
function withSkippedParts(report: ScanReport, message: FetchedMessage, maxMessageBytes: number): ScanReport {
  const skipped = message.skippedParts ?? [];
  if (skipped.length === 0) return report;
  const bytes = skipped.reduce((sum, part) => sum + part.size, 0);
  return {
    ...report,
    problems: [
      ...report.problems,
      `message over the ${formatMb(maxMessageBytes)} MB queue limit: ${skipped.length} attachment(s), ${formatMb(bytes)} MB, not scanned`,
    ],
    attachmentsNotScanned: [
      ...(report.attachmentsNotScanned ?? []),
      ...skipped.map((part) => ({ contentType: part.contentType, size: part.size, reason: QUEUE_SIZE_CAP_REASON })),
    ],
  };
}

/** This mailbox as an occurrence of the message (also what a failure record names). */
export function occurrenceOf(message: FetchedMessage): Occurrence {
  const received = message.receivedAt ? new Date(message.receivedAt) : null;
  return {
    account: message.account,
    folder: message.folder,
    uidValidity: message.uidValidity,
    uid: message.uid,
    // When the mail reached this mailbox (INTERNALDATE); when Kestrel saw it if the server gave none.
    seenAt: received && !Number.isNaN(received.getTime()) ? received : new Date(),
  };
}

const CLAIM_POLL_MS = 100;

/**
 * What the store knows of the key; when it knows nothing, a claim on it. Another holder's scan is
 * waited for (its verdict then stands), up to twice the scan time limit: a holder that died is
 * not waited for longer, and recordScan keeps a second scan from making a second flag.
 */
async function priorOrClaim(key: string, deps: ProcessDeps): Promise<{ prior: PriorScan; claimed: boolean }> {
  const { store, claims } = deps;
  if (!claims) return { prior: await store.priorScan(key), claimed: false };
  const deadline = Date.now() + deps.config.scan.timeoutMs * 2;
  for (;;) {
    // Claim first, then one lookup: a holder before us may have recorded and released already.
    if (await claims.claim(key)) {
      let recorded: PriorScan;
      try {
        recorded = await store.priorScan(key);
      } catch (error) {
        // A failed lookup must not leave the key held (in memory it would be held for good).
        await claims.release(key);
        throw error;
      }
      if (recorded) await claims.release(key);
      return { prior: recorded, claimed: recorded === null };
    }
    const prior = await store.priorScan(key);
    if (prior) return { prior, claimed: false };
    if (Date.now() > deadline) return { prior: null, claimed: false };
    await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
  }
}

export async function processMessage(message: FetchedMessage, deps: ProcessDeps, context: ProcessContext = {}): Promise<ProcessResult> {
  const { config, store, metrics, logger } = deps;
  const arrivedAt = context.arrivedAt ?? Date.now();
  const fields = { ...context.logFields, account: message.account, uid: message.uid };
  const key = messageKey(message.raw);
  const occurrence = occurrenceOf(message);

  // Whose mailbox this is: mail reaching it through a distribution list does not name them.
  const mailbox = config.accounts.find((a) => a.id === message.account)?.user;
  const retained = { raw: message.raw, key, envelope: message.envelope, mailbox };

  const { prior, claimed } = await priorOrClaim(key, deps);
  if (prior) {
    metrics.deduplicated.inc();
    const added = prior.flagId === null ? false : await store.addOccurrence(prior.flagId, occurrence);
    logger.debug({ ...fields, flagId: prior.flagId, occurrenceAdded: added }, 'message already scanned');
    // The copy scanned first may not have named the monitored account (a Bcc shows in the sender's copy only, a list's in neither).
    // Not scanned again: its direction and date come from its flag or its headers. A copy kept already is not kept twice.
    await deps.feedback?.retain({ ...retained, flagId: prior.flagId, report: null });
    return { flagId: prior.flagId, created: false, duplicate: true };
  }

  let report: ScanReport;
  let result: RecordResult;
  let hits: ReadonlyMap<number, number> = new Map();
  try {
    const scanned = withSkippedParts(await deps.scan(message.raw, message.envelope), message, config.queue.maxMessageBytes);
    const spread = await applySpread(scanned, deps.spread, config);
    ({ report, hits } = deps.feedback ? await deps.feedback.suppress(spread) : { report: spread, hits });
    result = await store.recordScan(key, occurrence, report, deps.planOutbox?.(report, message.raw));
  } catch (error) {
    if (context.finalAttempt ?? true) metrics.scanned.inc({ outcome: 'failed' });
    throw error;
  } finally {
    if (claimed) await deps.claims?.release(key);
  }
  if (result.deliveries.length > 0 && deps.onDeliveries) {
    await deps.onDeliveries(result.deliveries).catch((error: unknown) =>
      logger.warn({ ...fields, flagId: result.flagId, err: error instanceof Error ? error.message : String(error) }, 'cannot hand the copies over now: the copier will find them'),
    );
  }
  // After the record and the copies' hand-over: keeping a copy never holds up or loses the verdict (retain logs and counts its own failures).
  if (deps.feedback) {
    // Counted by the call that recorded the scan only: a retried job or a lost race would count them twice.
    if (result.created) await deps.feedback.countHits(hits);
    await deps.feedback.retain({ ...retained, flagId: result.flagId, report });
  }
  metrics.scanned.inc({ outcome: report.flagged ? 'flagged' : 'clean' });
  if (report.flagged && result.created) for (const category of report.categories) metrics.flagged.inc({ category });
  metrics.scanLatency.observe(Math.max(0, Date.now() - arrivedAt) / 1000);
  if (report.flagged) logger.info({ ...fields, flagId: result.flagId, created: result.created, severity: report.severity, categories: report.categories }, 'message flagged');
  else logger.debug({ ...fields, created: result.created }, 'message clean');
  return { flagId: result.flagId, created: result.created, duplicate: false };
}
