/**
 * The delivery records behind "exactly one copy per (message, recipient)": each row is written
 * before its first attempt (with the flag, or with the digest), claimed atomically by one copier
 * at a time, and finished with the attempt's outcome. An attempt whose outcome nobody recorded
 * (the copier died mid-send) or whose server went quiet after the message was sent is
 * `uncertain`, and is reconciled against the recipient's mailbox before anything is sent again.
 */
import { toNumber, type Queryable, type SqlClient } from './sql.js';
import type { Outbox } from './types.js';

export const DELIVERY_STATUSES = ['pending', 'sending', 'uncertain', 'sent', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** What an operator watches: deliveries neither sent nor cancelled. */
export type UnsentStatus = Exclude<DeliveryStatus, 'sent' | 'cancelled'>;

export interface Delivery {
  id: number;
  /** Set for a flag's copy; null for a digest. */
  flagId: number | null;
  digestId: number | null;
  recipient: string;
  routes: string[];
  form: 'full' | 'minimised' | 'digest';
  /** 1-based step of delivery.escalation.to when this copy escalates an unacknowledged flag. */
  escalationStep: number | null;
  messageId: string;
  status: DeliveryStatus;
  /** Attempts ever made; also the claim token, so it never goes back. */
  attempts: number;
  /** Attempts made since an operator last retried it: what the attempt budget counts. */
  attemptsSinceRetry: number;
  /** An earlier attempt may have reached the recipient: look before sending again. */
  maybeDelivered: boolean;
  lastError: string | null;
  response: string | null;
  resentAfterUncertain: boolean;
  createdAt: Date;
  sentAt: Date | null;
  confirmedAt: Date | null;
}

/** A delivery this copier now holds. Its `attempts` is the claim token that finishDelivery needs. */
export type ClaimedDelivery = Delivery;

/** What became of an attempt. `retryInMs` schedules the next one. */
export type DeliveryResult =
  | { status: 'sent'; response: string; resent?: boolean }
  | { status: 'pending'; error: string; retryInMs: number }
  | { status: 'uncertain'; error: string; retryInMs: number }
  | { status: 'failed'; error: string };

export interface DigestFlag {
  id: number;
  createdAt: Date;
  severity: 'minor' | 'moderate' | 'severe' | 'urgent';
  categories: string[];
  academies: string[];
}

export interface DeliveryStore {
  /** Takes a due pending or uncertain delivery for `leaseMs`; null when it is not due or another copier holds it. */
  claimDelivery(id: number, leaseMs: number): Promise<ClaimedDelivery | null>;
  /**
   * Records the outcome of attempt `attempt`. `sent` counts whenever it comes (a slow relay is not
   * a dead copier, and a copy that went must not be sent again); any other outcome only while no
   * later attempt has claimed the delivery. A retry of an escalation copy whose flag was
   * acknowledged meanwhile becomes `cancelled`.
   */
  finishDelivery(id: number, attempt: number, result: DeliveryResult): Promise<void>;
  /** A connector saw this copy in a watched mailbox: it was delivered. True the first time only. */
  confirmCopy(messageId: string): Promise<boolean>;
  /**
   * A bounce came back for this copy, to this recipient, after the relay had accepted it: the
   * delivery is failed with the reason, unless the copy was seen in a mailbox or an attempt is in
   * flight. Returns the delivery, or null.
   */
  bounceCopy(messageId: string, recipient: string, reason: string): Promise<number | null>;
  /** Sending deliveries whose lease ran out (their copier died mid-send) become uncertain, due in `waitMs`. */
  expireLeases(waitMs: number): Promise<number>;
  /** Ids of deliveries due now, oldest first, with their attempt count (for job ids). */
  dueDeliveries(limit: number): Promise<Array<{ id: number; attempts: number }>>;
  delivery(id: number): Promise<Delivery | null>;
  /** Newest first; filtered by flag or status. */
  deliveries(filter?: { flagId?: number; status?: DeliveryStatus; limit?: number }): Promise<Delivery[]>;
  /** Deliveries neither sent nor cancelled, by status (sent ones are not counted: they only grow). */
  unsentCounts(): Promise<Record<UnsentStatus, number>>;
  /** An operator's retry of a failed delivery: due now, with a fresh attempt budget. */
  retryDelivery(id: number): Promise<boolean>;
  sealedOriginal(flagId: number): Promise<Buffer | null>;
  /** Someone has the flag in hand: its escalation stops, and escalation copies not yet sent are cancelled. False when there is no such flag. */
  acknowledge(flagId: number, by: string): Promise<boolean>;
  /**
   * Urgent flags whose escalation is due: each gets a delivery to the next address of `recipients`
   * that has not had the copy (one who has is passed over at once), and its next step scheduled
   * `afterMs` later; none after the last. Returns the new deliveries.
   */
  escalateDue(recipients: readonly string[], afterMs: number, newMessageId: () => string): Promise<number[]>;
  digest(id: number): Promise<{ route: string; periodStart: Date; periodEnd: Date } | null>;
  /** The end of the route's last digest, or null before its first. */
  lastDigestEnd(route: string): Promise<Date | null>;
  /** Flags created in [start, end) that the route matched. */
  digestFlags(route: string, start: Date, end: Date): Promise<DigestFlag[]>;
  /** Records the digest and its deliveries once; null when this period's digest exists already. */
  createDigest(route: string, start: Date, end: Date, recipients: readonly string[], newMessageId: () => string): Promise<{ digestId: number; deliveries: number[] } | null>;
}


type DeliveryRow = {
  id: unknown;
  flag_id: unknown;
  digest_id: unknown;
  recipient: string;
  routes: string[];
  form: Delivery['form'];
  escalation_step: number | null;
  copy_message_id: string;
  status: DeliveryStatus;
  attempts: number;
  retried_at_attempt: number;
  maybe_delivered: boolean;
  last_error: string | null;
  response: string | null;
  resent_after_uncertain: boolean;
  created_at: Date;
  sent_at: Date | null;
  confirmed_at: Date | null;
};

function fromRow(row: DeliveryRow): Delivery {
  return {
    id: toNumber(row.id),
    flagId: row.flag_id === null ? null : toNumber(row.flag_id),
    digestId: row.digest_id === null ? null : toNumber(row.digest_id),
    recipient: row.recipient,
    routes: row.routes,
    form: row.form,
    escalationStep: row.escalation_step,
    messageId: row.copy_message_id,
    status: row.status,
    attempts: row.attempts,
    attemptsSinceRetry: row.attempts - row.retried_at_attempt,
    maybeDelivered: row.maybe_delivered,
    lastError: row.last_error,
    response: row.response,
    resentAfterUncertain: row.resent_after_uncertain,
    createdAt: row.created_at,
    sentAt: row.sent_at,
    confirmedAt: row.confirmed_at,
  };
}

/** Called inside recordScan's transaction for a new flag. */
export async function writeOutbox(tx: Queryable, flagId: number, outbox: Outbox): Promise<number[]> {
  const ids: number[] = [];
  for (const planned of outbox.deliveries) {
    const { rows } = await tx.query<{ id: unknown }>(
      `INSERT INTO deliveries (flag_id, recipient, routes, form, copy_message_id, due_at)
       VALUES ($1, $2, $3::text[], $4, $5, now() + $6 * interval '1 millisecond') ON CONFLICT (flag_id, recipient) DO NOTHING RETURNING id`,
      [flagId, planned.recipient.toLowerCase(), planned.routes, planned.form, planned.messageId, outbox.dueInMs ?? 0],
    );
    if (rows[0]) ids.push(toNumber(rows[0].id));
  }
  if (outbox.sealedOriginal) {
    await tx.query('INSERT INTO copy_originals (flag_id, sealed) VALUES ($1, $2) ON CONFLICT (flag_id) DO NOTHING', [flagId, outbox.sealedOriginal]);
  }
  if (outbox.escalateAfterMs !== undefined) {
    await tx.query(`UPDATE flags SET escalate_at = now() + $2 * interval '1 millisecond' WHERE id = $1`, [flagId, outbox.escalateAfterMs]);
  }
  return ids;
}

/**
 * The original is kept while a full copy of the flag may still be sent: a delivery not yet
 * finished or failed (an operator may retry it), or escalation still running.
 */
async function releaseOriginalIfDone(tx: Queryable, flagId: number): Promise<void> {
  await tx.query(
    `DELETE FROM copy_originals o
     WHERE o.flag_id = $1
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.flag_id = $1 AND d.status NOT IN ('sent', 'cancelled'))
       AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.id = $1 AND f.escalate_at IS NOT NULL)`,
    [flagId],
  );
}

const DUE = `(status IN ('pending', 'uncertain') AND due_at <= now())`;

export function createDeliveryStore(client: SqlClient): DeliveryStore {
  return {
    async claimDelivery(id, leaseMs) {
      // One statement: the row lock decides between copiers claiming at once.
      const { rows } = await client.query<DeliveryRow>(
        `UPDATE deliveries SET status = 'sending', attempts = attempts + 1, due_at = now() + $2 * interval '1 millisecond'
         WHERE id = $1 AND ${DUE} RETURNING *`,
        [id, leaseMs],
      );
      return rows[0] ? fromRow(rows[0]) : null;
    },

    async finishDelivery(id, attempt, result) {
      await client.transaction(async (tx) => {
        const error = result.status === 'sent' ? null : result.error;
        const retryInMs = result.status === 'pending' || result.status === 'uncertain' ? result.retryInMs : 0;
        // Only this attempt's holder records: not after a later attempt claimed it, nor over a
        // confirmation (sent) or an acknowledgement (cancelled) that came meanwhile.
        const { rows } = await tx.query<{ flag_id: unknown }>(
          `UPDATE deliveries d SET
             status = CASE
               WHEN $3 IN ('pending', 'uncertain') AND d.escalation_step IS NOT NULL
                    AND EXISTS (SELECT 1 FROM flags f WHERE f.id = d.flag_id AND f.acknowledged_at IS NOT NULL) THEN 'cancelled'
               ELSE $3 END,
             last_error = COALESCE($4, d.last_error),
             response = COALESCE($5, d.response),
             due_at = now() + $6 * interval '1 millisecond',
             sent_at = CASE WHEN $3 = 'sent' THEN now() ELSE d.sent_at END,
             resent_after_uncertain = d.resent_after_uncertain OR $7,
             maybe_delivered = d.maybe_delivered OR $3 = 'uncertain'
           WHERE d.id = $1 AND (
             ($3 = 'sent' AND d.attempts >= $2 AND d.status IN ('sending', 'uncertain', 'pending', 'cancelled'))
             OR (d.attempts = $2 AND d.status IN ('sending', 'uncertain')))
           RETURNING d.flag_id`,
          [id, attempt, result.status, error, result.status === 'sent' ? result.response : null, retryInMs, result.status === 'sent' && result.resent === true],
        );
        const flagId = rows[0]?.flag_id;
        if (flagId !== undefined && flagId !== null) await releaseOriginalIfDone(tx, toNumber(flagId));
      });
    },

    async confirmCopy(messageId) {
      return client.transaction(async (tx) => {
        const { rows } = await tx.query<{ flag_id: unknown }>(
          `UPDATE deliveries SET
             confirmed_at = now(),
             status = 'sent',
             sent_at = COALESCE(sent_at, now()),
             response = COALESCE(response, 'confirmed: seen in a watched mailbox')
           WHERE copy_message_id = $1 AND confirmed_at IS NULL
           RETURNING flag_id`,
          [messageId],
        );
        if (rows.length === 0) return false;
        const flagId = rows[0]!.flag_id;
        if (flagId !== null) await releaseOriginalIfDone(tx, toNumber(flagId));
        return true;
      });
    },

    async bounceCopy(messageId, recipient, reason) {
      const { rows } = await client.query<{ id: unknown }>(
        `UPDATE deliveries SET status = 'failed', last_error = $3
         WHERE copy_message_id = $1 AND recipient = $2 AND confirmed_at IS NULL AND status IN ('pending', 'uncertain', 'sent')
         RETURNING id`,
        [messageId, recipient.toLowerCase(), reason],
      );
      return rows[0] ? toNumber(rows[0].id) : null;
    },

    async expireLeases(waitMs) {
      const { rowCount } = await client.query(
        `UPDATE deliveries SET status = 'uncertain', maybe_delivered = true, due_at = now() + $1 * interval '1 millisecond',
           last_error = 'the copier stopped while sending: the outcome is unknown'
         WHERE status = 'sending' AND due_at <= now()`,
        [waitMs],
      );
      return rowCount;
    },

    async dueDeliveries(limit) {
      const { rows } = await client.query<{ id: unknown; attempts: number }>(`SELECT id, attempts FROM deliveries WHERE ${DUE} ORDER BY due_at LIMIT $1`, [limit]);
      return rows.map((r) => ({ id: toNumber(r.id), attempts: r.attempts }));
    },

    async delivery(id) {
      const { rows } = await client.query<DeliveryRow>('SELECT * FROM deliveries WHERE id = $1', [id]);
      return rows[0] ? fromRow(rows[0]) : null;
    },

    async deliveries(filter = {}) {
      const { rows } = await client.query<DeliveryRow>(
        `SELECT * FROM deliveries WHERE ($1::bigint IS NULL OR flag_id = $1) AND ($2::text IS NULL OR status = $2)
         ORDER BY id DESC LIMIT $3`,
        [filter.flagId ?? null, filter.status ?? null, filter.limit ?? 100],
      );
      return rows.map(fromRow);
    },

    async unsentCounts() {
      const { rows } = await client.query<{ status: UnsentStatus; count: unknown }>(
        `SELECT status, count(*) AS count FROM deliveries WHERE status IN ('pending', 'sending', 'uncertain', 'failed') GROUP BY status`,
      );
      const counts = { pending: 0, sending: 0, uncertain: 0, failed: 0 };
      for (const row of rows) counts[row.status] = toNumber(row.count);
      return counts;
    },

    async retryDelivery(id) {
      const { rowCount } = await client.query(`UPDATE deliveries SET status = 'pending', retried_at_attempt = attempts, due_at = now() WHERE id = $1 AND status = 'failed'`, [id]);
      return rowCount > 0;
    },

    async sealedOriginal(flagId) {
      const { rows } = await client.query<{ sealed: Uint8Array }>('SELECT sealed FROM copy_originals WHERE flag_id = $1', [flagId]);
      return rows[0] ? Buffer.from(rows[0].sealed) : null;
    },

    async acknowledge(flagId, by) {
      return client.transaction(async (tx) => {
        const { rowCount } = await tx.query(
          'UPDATE flags SET acknowledged_at = COALESCE(acknowledged_at, now()), acknowledged_by = COALESCE(acknowledged_by, $2), escalate_at = NULL WHERE id = $1',
          [flagId, by],
        );
        if (rowCount === 0) return false;
        // An escalation copy still waiting would tell its reader nobody had acknowledged the flag.
        await tx.query(
          `UPDATE deliveries SET status = 'cancelled', last_error = 'not sent: the flag was acknowledged first'
           WHERE flag_id = $1 AND escalation_step IS NOT NULL AND status IN ('pending', 'uncertain', 'failed')`,
          [flagId],
        );
        await releaseOriginalIfDone(tx, flagId);
        return true;
      });
    },

    async escalateDue(recipients, afterMs, newMessageId) {
      return client.transaction(async (tx) => {
        const { rows } = await tx.query<{ id: unknown; escalation_next: number }>(
          `SELECT id, escalation_next FROM flags
           WHERE escalate_at <= now() AND acknowledged_at IS NULL
           ORDER BY escalate_at LIMIT 100 FOR UPDATE SKIP LOCKED`,
        );
        const created: number[] = [];
        for (const row of rows) {
          const flagId = toNumber(row.id);
          let next = row.escalation_next;
          let delivery: number | null = null;
          // Someone on the list who already has the copy (the monitor) is passed over at once;
          // one whose own copy failed is sent it again, as this step.
          for (; delivery === null && next < recipients.length; next++) {
            const inserted = await tx.query<{ id: unknown }>(
              `INSERT INTO deliveries (flag_id, recipient, routes, form, escalation_step, copy_message_id)
               VALUES ($1, $2, ARRAY['escalation'], 'full', $3, $4)
               ON CONFLICT (flag_id, recipient) DO UPDATE SET status = 'pending', due_at = now(), escalation_step = $3,
                 retried_at_attempt = deliveries.attempts, routes = array_append(deliveries.routes, 'escalation')
               WHERE deliveries.status = 'failed'
               RETURNING id`,
              [flagId, recipients[next]!.toLowerCase(), next + 1, newMessageId()],
            );
            if (inserted.rows[0]) delivery = toNumber(inserted.rows[0].id);
          }
          const done = next >= recipients.length;
          await tx.query(
            `UPDATE flags SET escalation_next = $2, escalate_at = CASE WHEN $3 THEN NULL ELSE now() + $4 * interval '1 millisecond' END WHERE id = $1`,
            [flagId, next, done, afterMs],
          );
          if (delivery !== null) created.push(delivery);
          // The list is over (or was shortened in the config): the original is needed no longer for it.
          if (done) await releaseOriginalIfDone(tx, flagId);
        }
        return created;
      });
    },

    async digest(id) {
      const { rows } = await client.query<{ route: string; period_start: Date; period_end: Date }>('SELECT route, period_start, period_end FROM digests WHERE id = $1', [id]);
      const row = rows[0];
      return row ? { route: row.route, periodStart: row.period_start, periodEnd: row.period_end } : null;
    },

    async lastDigestEnd(route) {
      const { rows } = await client.query<{ period_end: Date | null }>('SELECT max(period_end) AS period_end FROM digests WHERE route = $1', [route]);
      return rows[0]?.period_end ?? null;
    },

    async digestFlags(route, start, end) {
      const { rows } = await client.query<{ id: unknown; created_at: Date; severity: DigestFlag['severity']; categories: string[]; from_party: { academy?: string } | null; recipients: Array<{ academy?: string }> }>(
        `SELECT id, created_at, severity, categories, from_party, recipients FROM flags
         WHERE $1 = ANY (routes) AND created_at >= $2 AND created_at < $3 ORDER BY created_at, id`,
        [route, start, end],
      );
      return rows.map((r) => ({
        id: toNumber(r.id),
        createdAt: r.created_at,
        severity: r.severity,
        categories: r.categories,
        academies: [...new Set([r.from_party?.academy, ...r.recipients.map((p) => p.academy)].filter((a): a is string => a !== undefined))].sort(),
      }));
    },

    async createDigest(route, start, end, recipients, newMessageId) {
      return client.transaction(async (tx) => {
        const { rows: counted } = await tx.query<{ count: unknown }>(
          'SELECT count(*) AS count FROM flags WHERE $1 = ANY (routes) AND created_at >= $2 AND created_at < $3',
          [route, start, end],
        );
        const { rows } = await tx.query<{ id: unknown }>(
          `INSERT INTO digests (route, period_start, period_end, flag_count) VALUES ($1, $2, $3, $4)
           ON CONFLICT (route, period_end) DO NOTHING RETURNING id`,
          [route, start, end, toNumber(counted[0]?.count ?? 0)],
        );
        if (!rows[0]) return null;
        const digestId = toNumber(rows[0].id);
        const deliveries: number[] = [];
        for (const recipient of new Set(recipients.map((r) => r.toLowerCase()))) {
          const inserted = await tx.query<{ id: unknown }>(
            `INSERT INTO deliveries (digest_id, recipient, routes, form, copy_message_id) VALUES ($1, $2, ARRAY[$3], 'digest', $4) RETURNING id`,
            [digestId, recipient, route, newMessageId()],
          );
          deliveries.push(toNumber(inserted.rows[0]!.id));
        }
        return { digestId, deliveries };
      });
    },
  };
}
