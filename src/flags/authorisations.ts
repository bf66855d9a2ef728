/**
 * Targeted-monitoring authorisations and the messages kept under them (tables authorisations,
 * retained_messages). Occasional monitoring of one account needs a reason, an approver and a
 * privacy impact assessment made beforehand (003_c7be022a1d032c68.txt 7.1-7.2); it is a short-term
 * measure that ends on its own, and its continuation is reviewed "with a view to terminating
 * monitoring in as short a period of time as possible" (002_ac353918cf928566.txt, Monitoring the
 * use of telephone, e-mail and the Internet).
 */
import { domainOf, isUnderDomain } from '../directory/domains.js';
import { seal, unseal, UnsealError } from '../queue/secret.js';
import type { Direction } from '../scan/types.js';
import type { Authorisation, Page, Reviewer } from './review-types.js';
import { toNumber, type SqlClient } from './sql.js';

export interface AuthorisationInput {
  account: string;
  reason: string;
  approver: string;
  piaReference: string;
  startsAt: Date;
  endsAt: Date;
}

/** A message kept under an authorisation, without its content. */
export interface RetainedMessage {
  id: number;
  authorisationId: number;
  messageKey: string;
  /** The flag the message also raised, if any (null once that flag is purged). */
  flagId: number | null;
  direction: Direction;
  messageDate: Date | null;
  storedAt: Date;
}

export interface RetainInput {
  authorisationId: number;
  messageKey: string;
  flagId: number | null;
  direction: Direction;
  messageDate: Date | null;
  sealed: Buffer;
}

/** What keeping another copy of a message scanned before needs to know, without scanning it again. */
export interface PriorRetention {
  /** Those of the authorisations asked about that kept the message already. */
  keptBy: number[];
  /** The direction and date of the flag the message raised (null when it raised none, or it is gone). */
  flag: { direction: Direction; messageDate: Date | null } | null;
}

export interface AuthorisationStore {
  createAuthorisation(input: AuthorisationInput, by: Reviewer): Promise<Authorisation>;
  authorisation(id: number): Promise<Authorisation | null>;
  /** Newest first. */
  authorisations(): Promise<Authorisation[]>;
  /**
   * Not ended and not ended early at `at`, and started by `until` (default `at`): a scanner that
   * reads them again only now and then asks for those starting before its next read too.
   */
  activeAuthorisations(at: Date, until?: Date): Promise<Authorisation[]>;
  /** Ends an authorisation early (recorded as reviewed, with the reason); false when it had already ended (or does not exist). */
  endAuthorisation(id: number, by: Reviewer, reason: string, at: Date): Promise<boolean>;
  /**
   * Those a reviewer should reconsider at `at`: ending within `withinDays`, or ended and not yet
   * recorded as reviewed. Soonest end first.
   */
  authorisationsDue(at: Date, withinDays: number): Promise<Authorisation[]>;
  /** Records that an ended authorisation was reviewed (reminded_at); false when it has not ended or was reviewed already. */
  markAuthorisationReviewed(id: number, at: Date): Promise<boolean>;
  /**
   * Keeps one sealed message while its authorisation is in force (started, not ended, not ended
   * early) now; false when it is not, or when it kept the message already.
   */
  retainMessage(input: RetainInput): Promise<boolean>;
  /** For a copy of a message scanned before: who kept it already, and its flag's direction and date. One query. */
  priorRetention(messageKey: string, authorisationIds: readonly number[], flagId: number | null): Promise<PriorRetention>;
  /** Newest first. */
  retainedMessages(authorisationId: number, page: Page): Promise<{ items: RetainedMessage[]; total: number }>;
  retainedMessage(authorisationId: number, id: number): Promise<{ message: RetainedMessage; sealed: Buffer } | null>;
}

/** When an authorisation stops: its end date, or the moment it was ended early. */
export function effectiveEnd(authorisation: Pick<Authorisation, 'endsAt' | 'revokedAt'>): Date {
  const { endsAt, revokedAt } = authorisation;
  return revokedAt && revokedAt < endsAt ? revokedAt : endsAt;
}

export function isActive(authorisation: Pick<Authorisation, 'startsAt' | 'endsAt' | 'revokedAt'>, at: Date): boolean {
  return authorisation.startsAt <= at && at < effectiveEnd(authorisation);
}

export type AuthorisationField = keyof AuthorisationInput;

/** Refused input, by form field. */
export class AuthorisationError extends Error {
  override name = 'AuthorisationError';
  constructor(readonly problems: Partial<Record<AuthorisationField, string>>) {
    super(Object.values(problems).join('; '));
  }
}

/**
 * The rules an authorisation must meet: a trust account (monitoring covers the trust's own systems
 * only, 003 7.1), every field of the record, an end after the start, at most `maxDays` long.
 */
export function checkAuthorisation(input: AuthorisationInput, rules: { trustDomains: readonly string[]; maxDays: number }): AuthorisationInput {
  const problems: Partial<Record<AuthorisationField, string>> = {};
  const account = input.account.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(account)) problems.account = 'account: expected an e-mail address';
  else if (!rules.trustDomains.some((domain) => isUnderDomain(domainOf(account), domain))) problems.account = `account: ${account} is not an address in the trust's domains`;
  const text = (field: 'reason' | 'approver' | 'piaReference', what: string): string => {
    const value = input[field].trim();
    if (value === '') problems[field] = `${field}: ${what}`;
    return value;
  };
  const reason = text('reason', 'say why this account is to be monitored');
  const approver = text('approver', 'name who approved the monitoring (the Headteacher or Governing Body)');
  const piaReference = text('piaReference', 'give the reference of the privacy impact assessment carried out first');
  const { startsAt, endsAt } = input;
  if (Number.isNaN(startsAt.getTime())) problems.startsAt = 'startsAt: expected a date';
  if (Number.isNaN(endsAt.getTime())) problems.endsAt = 'endsAt: expected a date';
  else if (endsAt <= startsAt) problems.endsAt = 'endsAt: must be after the start';
  // Rounded to whole days: a span across a clock change is an hour longer or shorter than its days.
  else if (Math.round((endsAt.getTime() - startsAt.getTime()) / 86_400_000) > rules.maxDays) problems.endsAt = `endsAt: at most ${rules.maxDays} days after the start (retention.maxAuthorisationDays)`;
  if (Object.keys(problems).length > 0) throw new AuthorisationError(problems);
  return { account, reason, approver, piaReference, startsAt, endsAt };
}

/** The associated data binds a sealed message to its authorisation and key: moved to another row, it does not open. */
function retainedAad(authorisationId: number, messageKey: string): Buffer {
  return Buffer.from(`kestrel-retained:1:${authorisationId}:${messageKey}`);
}

export function sealRetained(raw: Buffer, key: Buffer, authorisationId: number, messageKey: string): Buffer {
  return seal(raw, key, retainedAad(authorisationId, messageKey));
}

export function openRetained(sealed: Buffer, key: Buffer, authorisationId: number, messageKey: string): Buffer {
  try {
    return unseal(sealed, key, retainedAad(authorisationId, messageKey));
  } catch (error) {
    if (!(error instanceof UnsealError)) throw error;
    throw new Error(`authorisation ${authorisationId}: a kept message ${error.reason === 'truncated' ? 'is truncated' : 'does not open with this key (was queue.key changed?)'}`);
  }
}

type AuthorisationRow = {
  id: unknown;
  account: string;
  reason: string;
  approver: string;
  pia_reference: string;
  starts_at: Date;
  ends_at: Date;
  created_by: unknown;
  created_at: Date;
  revoked_at: Date | null;
  revoke_reason: string | null;
  reminded_at: Date | null;
};

function authorisationFrom(row: AuthorisationRow): Authorisation {
  return {
    id: toNumber(row.id),
    account: row.account,
    reason: row.reason,
    approver: row.approver,
    piaReference: row.pia_reference,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    createdBy: row.created_by === null ? null : toNumber(row.created_by),
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    revokeReason: row.revoke_reason,
    remindedAt: row.reminded_at,
  };
}

type RetainedRow = {
  id: unknown;
  authorisation_id: unknown;
  message_key: string;
  flag_id: unknown;
  direction: Direction;
  message_date: Date | null;
  stored_at: Date;
};

function retainedFrom(row: RetainedRow): RetainedMessage {
  return {
    id: toNumber(row.id),
    authorisationId: toNumber(row.authorisation_id),
    messageKey: row.message_key,
    flagId: row.flag_id === null ? null : toNumber(row.flag_id),
    direction: row.direction,
    messageDate: row.message_date,
    storedAt: row.stored_at,
  };
}

/** The end in SQL: ended early, or at ends_at. */
const ENDS = 'LEAST(ends_at, COALESCE(revoked_at, ends_at))';
const RETAINED_COLUMNS = 'id, authorisation_id, message_key, flag_id, direction, message_date, stored_at';

export function createAuthorisationStore(client: SqlClient): AuthorisationStore {
  return {
    async createAuthorisation(input, by) {
      const { rows } = await client.query<AuthorisationRow>(
        `INSERT INTO authorisations (account, reason, approver, pia_reference, starts_at, ends_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [input.account.trim().toLowerCase(), input.reason, input.approver, input.piaReference, input.startsAt, input.endsAt, by.id],
      );
      return authorisationFrom(rows[0]!);
    },

    async authorisation(id) {
      const { rows } = await client.query<AuthorisationRow>('SELECT * FROM authorisations WHERE id = $1', [id]);
      return rows[0] ? authorisationFrom(rows[0]) : null;
    },

    async authorisations() {
      const { rows } = await client.query<AuthorisationRow>('SELECT * FROM authorisations ORDER BY created_at DESC, id DESC');
      return rows.map(authorisationFrom);
    },

    async activeAuthorisations(at, until = at) {
      const { rows } = await client.query<AuthorisationRow>(
        'SELECT * FROM authorisations WHERE revoked_at IS NULL AND starts_at <= $2 AND ends_at > $1 ORDER BY id',
        [at, until],
      );
      return rows.map(authorisationFrom);
    },

    async endAuthorisation(id, by, reason, at) {
      const { rowCount } = await client.query(
        // Ending early is the reconsideration the reminders ask for, with its reason: it counts as reviewed.
        `UPDATE authorisations SET revoked_at = $3, revoked_by = $2, revoke_reason = $4, reminded_at = $3
         WHERE id = $1 AND revoked_at IS NULL AND ends_at > $3`,
        [id, by.id, at, reason],
      );
      return rowCount > 0;
    },

    async authorisationsDue(at, withinDays) {
      const { rows } = await client.query<AuthorisationRow>(
        `SELECT * FROM authorisations
         WHERE reminded_at IS NULL AND ${ENDS} <= $1::timestamptz + $2 * interval '1 day'
         ORDER BY ${ENDS}, id`,
        [at, withinDays],
      );
      return rows.map(authorisationFrom);
    },

    async markAuthorisationReviewed(id, at) {
      const { rowCount } = await client.query(`UPDATE authorisations SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL AND ${ENDS} <= $2`, [id, at]);
      return rowCount > 0;
    },

    async retainMessage(input) {
      const { rowCount } = await client.query(
        // Checked here, not only against a scanner's list read up to 30 s ago: ending an authorisation stops keeping at once.
        `INSERT INTO retained_messages (authorisation_id, message_key, flag_id, direction, message_date, sealed)
         SELECT $1, $2, $3, $4, $5, $6 FROM authorisations
         WHERE id = $1 AND starts_at <= now() AND ${ENDS} > now()
         ON CONFLICT (authorisation_id, message_key) DO NOTHING`,
        [input.authorisationId, input.messageKey, input.flagId, input.direction, input.messageDate, input.sealed],
      );
      return rowCount > 0;
    },

    async priorRetention(messageKey, authorisationIds, flagId) {
      const { rows } = await client.query<{ kept_by: unknown[]; direction: Direction | null; message_date: Date | null }>(
        `SELECT ARRAY(SELECT r.authorisation_id FROM retained_messages r WHERE r.message_key = $1 AND r.authorisation_id = ANY($2::bigint[])) AS kept_by,
           f.direction, f.message_date
         FROM (VALUES (1)) AS one LEFT JOIN flags f ON f.id = $3`,
        [messageKey, authorisationIds, flagId],
      );
      const row = rows[0]!;
      return { keptBy: row.kept_by.map(toNumber), flag: row.direction === null ? null : { direction: row.direction, messageDate: row.message_date } };
    },

    async retainedMessages(authorisationId, page) {
      const { rows } = await client.query<RetainedRow>(
        `SELECT ${RETAINED_COLUMNS} FROM retained_messages WHERE authorisation_id = $1
         ORDER BY COALESCE(message_date, stored_at) DESC, id DESC LIMIT $2 OFFSET $3`,
        [authorisationId, Math.min(page.limit, 200), page.offset],
      );
      const total = await client.query<{ n: unknown }>('SELECT count(*) AS n FROM retained_messages WHERE authorisation_id = $1', [authorisationId]);
      return { items: rows.map(retainedFrom), total: toNumber(total.rows[0]?.n) };
    },

    async retainedMessage(authorisationId, id) {
      const { rows } = await client.query<RetainedRow & { sealed: Uint8Array }>(
        `SELECT ${RETAINED_COLUMNS}, sealed FROM retained_messages WHERE authorisation_id = $1 AND id = $2`,
        [authorisationId, id],
      );
      const row = rows[0];
      return row ? { message: retainedFrom(row), sealed: Buffer.from(row.sealed) } : null;
    },
  };
}
