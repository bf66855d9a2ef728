/**
 * Delivers recorded copies: claims one delivery, reconciles an attempt whose outcome is unknown,
 * composes the copy from the stored flag (and sealed original), sends it and records the outcome.
 * `housekeeping` runs the clock-driven work: leases of copiers that died, escalation of
 * unacknowledged urgent flags, and the daily digests. The same Copier runs in embedded mode
 * (inline-copier.ts) and behind the BullMQ copy queue (copy-queue.ts).
 */
import type { KestrelConfig } from '../config/schema.js';
import type { ClaimedDelivery, DeliveryResult } from '../flags/deliveries.js';
import type { SqlFlagStore } from '../flags/store.js';
import type { Logger } from '../log.js';
import type { KestrelMetrics } from '../ops/metrics.js';
import { kestrelCopyHeaderValue } from '../connect/copy-guard.js';
import { composeCopy, composeDigest } from './compose.js';
import { openOriginal, type CopyKeys } from './keys.js';
import { newCopyMessageId, senderAddress } from './plan.js';
import { latestDailyTime } from './schedule.js';
import type { CopyTransports } from './transport/transports.js';
import type { SendOutcome } from './types.js';

export interface CopierOptions {
  config: KestrelConfig;
  store: SqlFlagStore;
  transports: CopyTransports;
  keys: CopyKeys;
  metrics: KestrelMetrics;
  logger: Logger;
}

export type DeliverOutcome = 'sent' | 'retry' | 'uncertain' | 'failed' | 'not due';

const DAY_MS = 86_400_000;

/** Missing or unreadable data: trying again cannot make this copy. Anything else thrown while composing may pass. */
class CannotCompose extends Error {}

/** Tries to record an outcome again before leaving it to the lease: an accepted copy whose record is lost would be reconciled, at best. */
const RECORD_ATTEMPTS = 3;

/** The flag's page in the review UI (`reviewUrl` has no trailing slash: the config strips it). */
export function flagUrl(reviewUrl: string, flagId: number): string {
  return `${reviewUrl}/flags/${flagId}`;
}

export class Copier {
  private readonly sender: string;

  constructor(private readonly options: CopierOptions) {
    const { from } = options.config.delivery;
    if (from === undefined) throw new Error('delivery.from is not set: copies need a sender');
    this.sender = senderAddress(from);
  }

  /**
   * How long a copier holds a delivery: past the timeouts of one attempt (connect, greeting, a few
   * commands). A holder gone for longer is taken to have died mid-send.
   */
  get leaseMs(): number {
    return ((this.options.config.delivery.smtp?.timeoutSeconds ?? 60) * 6 + 5) * 1000;
  }

  async deliver(deliveryId: number): Promise<DeliverOutcome> {
    const { store, transports, logger } = this.options;
    const claimed = await store.claimDelivery(deliveryId, this.leaseMs);
    if (!claimed) return 'not due';
    const fields = { delivery: claimed.id, flag: claimed.flagId, digest: claimed.digestId, routes: claimed.routes, attempt: claimed.attempts };
    let transport;
    try {
      transport = transports.for(claimed.recipient);
    } catch (error) {
      return this.finish(claimed, { kind: 'permanent', error: (error as Error).message }, fields);
    }

    let resend = false;
    if (claimed.maybeDelivered) {
      // An earlier attempt may have arrived: look before sending it again.
      const found = await transport.delivered(claimed.recipient, claimed.messageId).catch(() => undefined);
      if (found === true) {
        this.options.metrics.copies.inc({ outcome: 'confirmed' });
        await this.record(claimed, { status: 'sent', response: 'found in the recipient mailbox after an uncertain attempt' });
        logger.info(fields, 'copy found delivered after an uncertain attempt: not sent again');
        return 'sent';
      }
      // A mailbox Kestrel can search but could not this time: look again later rather than append blindly.
      if (found === undefined && transport.method === 'imap' && claimed.attemptsSinceRetry < this.options.config.delivery.attempts) {
        return this.finish(claimed, { kind: 'uncertain', error: 'the recipient mailbox could not be searched for the earlier attempt' }, fields);
      }
      resend = found === undefined;
    }

    let raw: Buffer;
    try {
      raw = await this.compose(claimed);
    } catch (error) {
      const reason = `cannot compose the copy: ${(error as Error).message}`;
      return this.finish(claimed, { kind: error instanceof CannotCompose ? 'permanent' : 'temporary', error: reason }, fields);
    }
    let outcome: SendOutcome;
    try {
      outcome = await transport.send({ raw, from: this.sender, to: claimed.recipient, messageId: claimed.messageId });
    } catch (error) {
      // Transports report trouble as outcomes; one that throws may have sent the copy or not.
      outcome = { kind: 'uncertain', error: `the transport failed: ${(error as Error).message}` };
    }
    return this.finish(claimed, outcome, fields, resend);
  }

  private async record(claimed: ClaimedDelivery, result: DeliveryResult): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.options.store.finishDelivery(claimed.id, claimed.attempts, result);
      } catch (error) {
        if (attempt >= RECORD_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1_000 * attempt));
      }
    }
  }

  private async finish(claimed: ClaimedDelivery, outcome: SendOutcome, fields: Record<string, unknown>, resend = false): Promise<DeliverOutcome> {
    const { metrics, logger, config } = this.options;
    const { delivery } = config;
    let result: DeliveryResult;
    let reported: DeliverOutcome;
    if (outcome.kind === 'sent') {
      result = { status: 'sent', response: outcome.response, resent: resend };
      reported = 'sent';
      logger.info({ ...fields, resent: resend }, 'copy sent');
    } else if (outcome.kind === 'uncertain' && claimed.attemptsSinceRetry < delivery.attempts) {
      result = { status: 'uncertain', error: outcome.error, retryInMs: delivery.uncertainResendMinutes * 60_000 };
      reported = 'uncertain';
      logger.warn({ ...fields, reason: outcome.error }, 'copy may or may not have been accepted: it will be looked for before it is sent again');
    } else if (outcome.kind !== 'permanent' && claimed.attemptsSinceRetry < delivery.attempts) {
      const backoff = Math.min(delivery.backoffSeconds * 2 ** (claimed.attemptsSinceRetry - 1), delivery.maxBackoffSeconds);
      result = { status: 'pending', error: outcome.error, retryInMs: backoff * 1000 };
      reported = 'retry';
      logger.warn({ ...fields, reason: outcome.error, retryInSeconds: backoff }, 'copy not delivered; it will be retried');
    } else {
      const maybeArrived = outcome.kind === 'uncertain' ? '; it may have arrived: check the recipient mailbox before a retry' : '';
      const error = outcome.kind === 'permanent' ? outcome.error : `${outcome.error} (gave up after ${claimed.attemptsSinceRetry} attempts${maybeArrived})`;
      result = { status: 'failed', error };
      reported = 'failed';
      // Never dropped: the delivery stays failed on the flag, in the metric and the review UI, until an operator retries it.
      logger.error({ ...fields, reason: error }, 'copy could not be delivered: recorded as failed');
    }
    await this.record(claimed, result);
    metrics.copies.inc({ outcome: reported });
    return reported;
  }

  private async compose(claimed: ClaimedDelivery): Promise<Buffer> {
    const { config, store, keys } = this.options;
    const { delivery, trust } = config;
    const from = delivery.from!;
    if (claimed.digestId !== null) return this.composeDigestFor(claimed, claimed.digestId);
    const flagId = claimed.flagId!;
    const flag = await store.flag(flagId);
    if (!flag) throw new CannotCompose(`flag ${flagId} no longer exists (purged?)`);
    let original: Buffer | undefined;
    if (claimed.form === 'full') {
      const sealed = await store.sealedOriginal(flagId);
      try {
        original = sealed ? openOriginal(sealed, keys.original, flagId) : undefined;
      } catch (error) {
        // A copier on another queue.key than the workers': every full copy would fail until it is
        // fixed, so the copy waits (retried, then failed) and operators hear it loudly.
        this.options.logger.error({ delivery: claimed.id, flag: flagId }, 'the stored original does not open with this queue.key: check that every process has the same key');
        throw error;
      }
      // Released once every copy had gone: a copy that bounced later and is retried goes without it.
      if (!original) this.options.logger.warn({ delivery: claimed.id, flag: flagId }, 'the original is no longer stored: sending the copy without it');
    }
    const escalationList = delivery.escalation.to;
    return composeCopy({
      flag,
      form: original ? 'full' : 'minimised',
      ...(claimed.form === 'full' && !original ? { originalReleased: true } : {}),
      routes: claimed.routes,
      ...(claimed.escalationStep !== null ? { escalation: { step: claimed.escalationStep, of: escalationList.length, afterMinutes: delivery.escalation.afterMinutes } } : {}),
      ...(original ? { original } : {}),
      from,
      to: claimed.recipient,
      flagUrl: flagUrl(delivery.reviewUrl!, flagId),
      trustName: trust.name,
      timeZone: delivery.timeZone,
      messageId: claimed.messageId,
      copyHeader: kestrelCopyHeaderValue(flagId, claimed.messageId, keys.header),
    });
  }

  private async composeDigestFor(claimed: ClaimedDelivery, digestId: number): Promise<Buffer> {
    const { config, store, keys } = this.options;
    const digest = await store.digest(digestId);
    if (!digest) throw new CannotCompose(`digest ${digestId} no longer exists`);
    const flags = await store.digestFlags(digest.route, digest.periodStart, digest.periodEnd);
    const reviewUrl = config.delivery.reviewUrl!;
    // An academy's own address (its DSL) hears about its academy; the route's `to` about everything.
    const route = config.routes[digest.route];
    const ownAcademies = route && !route.to.includes(claimed.recipient) ? Object.entries(route.academies).filter(([, addresses]) => addresses.includes(claimed.recipient)).map(([academy]) => academy) : [];
    const entries = ownAcademies.length > 0 ? flags.filter((f) => f.academies.some((a) => ownAcademies.includes(a))) : flags;
    return composeDigest({
      route: digest.route,
      periodStart: digest.periodStart,
      periodEnd: digest.periodEnd,
      entries: entries.map((f) => ({ flagId: f.id, createdAt: f.createdAt, severity: f.severity, categories: f.categories, academies: f.academies, url: flagUrl(reviewUrl, f.id) })),
      from: config.delivery.from!,
      to: claimed.recipient,
      listUrl: `${reviewUrl}/flags`,
      trustName: config.trust.name,
      timeZone: config.delivery.timeZone,
      messageId: claimed.messageId,
      copyHeader: kestrelCopyHeaderValue(`digest-${digestId}`, claimed.messageId, keys.header),
    });
  }

  /**
   * The clock-driven work, safe to run in every copier at once: copiers that died mid-send,
   * escalations due, digests due. Returns deliveries now due, for the caller to deliver or queue.
   */
  async housekeeping(now: Date = new Date()): Promise<Array<{ id: number; attempts: number }>> {
    const { config, store, metrics, logger } = this.options;
    const { delivery } = config;
    // Each step on its own: a digest that cannot be made must not hold back the copies due.
    const step = async (name: string, work: () => Promise<void>): Promise<void> => {
      try {
        await work();
      } catch (error) {
        logger.error({ step: name, err: error instanceof Error ? error.message : String(error) }, 'copier housekeeping step failed; it runs again at the next sweep');
      }
    };
    await step('leases', async () => {
      const expired = await store.expireLeases(delivery.uncertainResendMinutes * 60_000);
      if (expired > 0) logger.warn({ deliveries: expired }, 'copies whose copier stopped mid-send: they will be looked for before they are sent again');
    });
    // Also with an empty list: flags that were escalating when it was emptied are closed.
    await step('escalation', async () => {
      const escalated = await store.escalateDue(delivery.escalation.to, delivery.escalation.afterMinutes * 60_000, () => newCopyMessageId(delivery.from!));
      if (escalated.length > 0) logger.warn({ deliveries: escalated }, 'urgent flags not acknowledged in time: escalated');
    });
    await step('digests', () => this.createDueDigests(now));
    await step('metrics', async () => {
      const counts = await store.unsentCounts();
      for (const [status, count] of Object.entries(counts)) metrics.deliveries.set({ status }, count);
    });
    return store.dueDeliveries(500);
  }

  private async createDueDigests(now: Date): Promise<void> {
    const { config, store, logger } = this.options;
    const { digest } = config.delivery;
    for (const [route, settings] of Object.entries(config.routes)) {
      if (settings.copy !== 'digest') continue;
      const recipients = [...settings.to, ...Object.values(settings.academies).flat()];
      if (recipients.length === 0) continue;
      const end = latestDailyTime(now, digest.at, config.delivery.timeZone);
      const last = await store.lastDigestEnd(route);
      if (last && last.getTime() >= end.getTime()) continue;
      // A copier that was down for days sends one digest covering the gap, not one per missed day.
      const start = last ?? new Date(end.getTime() - DAY_MS);
      // Before a route's first flag there is nothing to report: a new install does not open with an empty digest.
      if (!last && (await store.digestFlags(route, start, end)).length === 0) continue;
      const created = await store.createDigest(route, start, end, recipients, () => newCopyMessageId(config.delivery.from!));
      if (created) logger.info({ route, digest: created.digestId, deliveries: created.deliveries.length }, 'daily digest recorded');
    }
  }
}
