/** Reviewers' suppressions (table suppressions): false positives fed back into scanning. */
import type { Reviewer, Suppression, SuppressionInput } from './review-types.js';
import { toNumber, type SqlClient } from './sql.js';

export interface SuppressionStore {
  createSuppression(input: SuppressionInput, by: Reviewer): Promise<Suppression>;
  /** False when it was already revoked or does not exist. */
  revokeSuppression(id: number, by: Reviewer): Promise<boolean>;
  suppression(id: number): Promise<Suppression | null>;
  /** Newest first; expired and revoked ones too when asked. */
  suppressions(options: { includeInactive: boolean }): Promise<Suppression[]>;
  /** Those in force at `at`: not revoked and not yet expired. */
  activeSuppressions(at: Date): Promise<Suppression[]>;
  /** Adds findings dropped to each suppression's hits (id -> findings dropped). */
  countSuppressionHits(hits: ReadonlyMap<number, number>, at: Date): Promise<void>;
}

/** Refused input; `field` names the form field that is wrong. */
export class SuppressionError extends Error {
  override name = 'SuppressionError';
  constructor(
    readonly field: 'rule' | 'sender' | 'phrase' | 'reason' | 'expiresAt',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Matched words as a suppression compares them: NFKC (full-width and ligature forms fold to plain
 * letters), lower case, runs of white space as one space, trimmed. "Kill  MYSELF" and "kill myself"
 * are one phrase.
 */
export function normalisePhrase(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

type SuppressionRow = {
  id: unknown;
  rule: string;
  sender: string | null;
  phrase: string | null;
  reason: string;
  flag_id: unknown;
  created_by: unknown;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  hits: unknown;
  last_hit_at: Date | null;
};

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : toNumber(value));

function fromRow(row: SuppressionRow): Suppression {
  return {
    id: toNumber(row.id),
    rule: row.rule,
    sender: row.sender,
    phrase: row.phrase,
    reason: row.reason,
    flagId: nullableNumber(row.flag_id),
    createdBy: nullableNumber(row.created_by),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    hits: toNumber(row.hits),
    lastHitAt: row.last_hit_at,
  };
}

function checked(input: SuppressionInput): { rule: string; sender: string | null; phrase: string | null; reason: string } {
  const rule = input.rule.trim();
  if (rule === '') throw new SuppressionError('rule', 'rule: name the rule to suppress');
  const sender = input.sender?.trim().toLowerCase() || null;
  if (sender !== null && !/^[^\s@]+@[^\s@]+$/.test(sender)) throw new SuppressionError('sender', `sender: expected an address, got "${sender}"`);
  const phrase = input.phrase ? normalisePhrase(input.phrase) || null : null;
  // Without either, the rule would be off for everyone: that is disableRules in the config, not a reviewer's call.
  if (sender === null && phrase === null) throw new SuppressionError('phrase', 'phrase: a suppression needs the sender, the matched words, or both');
  const reason = input.reason.trim();
  if (reason === '') throw new SuppressionError('reason', 'reason: say why these findings are false positives');
  return { rule, sender, phrase, reason };
}

export function createSuppressionStore(client: SqlClient): SuppressionStore {
  return {
    async createSuppression(input, by) {
      const { rule, sender, phrase, reason } = checked(input);
      const { rows } = await client.query<{ expired: boolean }>('SELECT $1::timestamptz <= now() AS expired', [input.expiresAt]);
      if (rows[0]?.expired) throw new SuppressionError('expiresAt', 'expiresAt: a suppression must expire in the future');
      const inserted = await client.query<SuppressionRow>(
        `INSERT INTO suppressions (rule, sender, phrase, reason, flag_id, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [rule, sender, phrase, reason, input.flagId ?? null, by.id, input.expiresAt],
      );
      return fromRow(inserted.rows[0]!);
    },

    async revokeSuppression(id, by) {
      const { rowCount } = await client.query('UPDATE suppressions SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL', [id, by.id]);
      return rowCount > 0;
    },

    async suppression(id) {
      const { rows } = await client.query<SuppressionRow>('SELECT * FROM suppressions WHERE id = $1', [id]);
      return rows[0] ? fromRow(rows[0]) : null;
    },

    async suppressions({ includeInactive }) {
      const { rows } = await client.query<SuppressionRow>(
        `SELECT * FROM suppressions ${includeInactive ? '' : 'WHERE revoked_at IS NULL AND expires_at > now()'} ORDER BY created_at DESC, id DESC`,
      );
      return rows.map(fromRow);
    },

    async activeSuppressions(at) {
      const { rows } = await client.query<SuppressionRow>('SELECT * FROM suppressions WHERE revoked_at IS NULL AND expires_at > $1 ORDER BY id', [at]);
      return rows.map(fromRow);
    },

    async countSuppressionHits(hits, at) {
      for (const [id, count] of hits) {
        await client.query('UPDATE suppressions SET hits = hits + $2, last_hit_at = GREATEST(last_hit_at, $3::timestamptz) WHERE id = $1', [id, count, at]);
      }
    },
  };
}
