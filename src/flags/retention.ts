/**
 * The retention purge: expired flags, evidence, kept messages, suppressions and authorisations,
 * sessions and audit rows. Logs and monitoring data are "kept for no longer than necessary"
 * (002_ac353918cf928566.txt, Monitoring and Logging); each run records what it deleted (table
 * purges, and a `purge.run` audit row).
 *
 * Locks are taken in the order the outcome path takes them (a flag, then its deliveries, then its
 * copy original), and a flag someone else holds is skipped, to be purged on the next run: the purge
 * never waits on a reviewer, and cannot deadlock with one.
 */
import type { RetentionConfig } from '../config/retention-schema.js';
import { CLOSED_STATUSES, type FlagStatus } from './review-types.js';
import { toNumber, type Queryable, type SqlClient } from './sql.js';

/** The periods the purge applies (retention config; the schedule's own settings are not needed). */
export type RetentionPolicy = Pick<
  RetentionConfig,
  'categories' | 'falsePositiveDays' | 'retainedMessagesDays' | 'auditDays' | 'scannedKeysDays' | 'scanFailuresDays' | 'digestsDays'
>;

export interface PurgeCounts {
  /** Closed flags past their period, with what hangs off them (deleted with the flag). */
  flags: number;
  findings: number;
  occurrences: number;
  reviews: number;
  /** Delivery records of the purged flags and digests. */
  deliveries: number;
  /** Sealed originals whose copies all failed, kept past the flag's period. */
  copyOriginals: number;
  digests: number;
  retainedMessages: number;
  /** Keys of scanned messages with no flag. */
  messageKeys: number;
  scanFailures: number;
  sessions: number;
  /** Suppressions expired or revoked more than falsePositiveDays ago. */
  suppressions: number;
  /** Authorisations ended more than auditDays ago (their kept messages went with them, counted in retainedMessages). */
  authorisations: number;
  /** Audit rows past auditDays, except those of a flag that still exists. */
  auditRows: number;
}

export interface PurgeRecord {
  id: number;
  ranAt: Date;
  actor: string;
  counts: PurgeCounts;
}

export interface PurgeOptions {
  /** Count what would go, delete nothing and record nothing. */
  dryRun?: boolean;
  /** Who ran it, for the purges row and the audit log; `kestrel` for the schedule. */
  actor?: string;
  /** The clock (tests); now by default. */
  at?: Date;
  /** Do nothing (and return null) when a purge ran at or after this instant: the daily schedule, in several processes, runs once. */
  unlessRanSince?: Date;
}

export interface OverdueFlags {
  /** Open flags older than their category's period: the purge never deletes an open flag, so someone has to close them. */
  count: number;
  oldestCreatedAt: Date | null;
}

export interface RetentionStore {
  purge(policy: RetentionPolicy, options?: PurgeOptions): Promise<PurgeCounts | null>;
  /** Newest first. */
  purges(limit?: number): Promise<PurgeRecord[]>;
  overdueFlags(policy: RetentionPolicy, at: Date): Promise<OverdueFlags>;
}

const DAY_MS = 86_400_000;

/** `*` matches everything least; then prefix patterns by length; an exact category most. */
function specificity(pattern: string, category: string): number {
  if (pattern === '*') return 0;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -2);
    return category === prefix || category.startsWith(`${prefix}.`) ? prefix.length + 1 : -1;
  }
  return pattern === category ? Number.MAX_SAFE_INTEGER : -1;
}

/** Days for one category: its most specific pattern's. */
export function categoryDays(category: string, periods: Record<string, number>): number {
  let best = -1;
  let days = periods['*'] ?? 0;
  for (const [pattern, value] of Object.entries(periods)) {
    const rank = specificity(pattern, category);
    if (rank > best) [best, days] = [rank, value];
  }
  return days;
}

/** Days a flag is kept after it closed: a false positive's own period, else the longest of its categories'. */
export function flagDays(flag: { categories: readonly string[]; status: FlagStatus }, policy: RetentionPolicy): number {
  if (flag.status === 'false_positive') return policy.falsePositiveDays;
  return Math.max(...flag.categories.map((c) => categoryDays(c, policy.categories)), 0);
}

/** Any constant shared by every Kestrel process: it serialises purges. */
const PURGE_LOCK = 4_801_223_118;

class DryRun extends Error {
  constructor(readonly counts: PurgeCounts) {
    super('dry run: rolled back');
  }
}

const count = async (tx: Queryable, sql: string, params: readonly unknown[]): Promise<number> => toNumber((await tx.query<{ n: unknown }>(sql, params)).rows[0]?.n);

/** `$n` days before `$at`, in SQL. */
const before = (at: string, days: string): string => `(${at}::timestamptz - ${days} * interval '1 day')`;

function expired<T extends { categories: string[]; status: FlagStatus }>(rows: T[], since: (row: T) => Date, at: Date, policy: RetentionPolicy): T[] {
  return rows.filter((row) => since(row).getTime() + flagDays(row, policy) * DAY_MS <= at.getTime());
}

/** Delivery states a copier may still act on: a flag or original with one of these is not purged. */
const IN_FLIGHT = "('pending', 'sending', 'uncertain')";

/**
 * Locks these flags, in id order, skipping any another transaction holds (a reviewer's outcome, an
 * escalation): those are left for the next run. Returns the ids locked.
 */
async function lockFlags(tx: Queryable, ids: readonly number[], strength: 'UPDATE' | 'NO KEY UPDATE', closedOnly: boolean): Promise<number[]> {
  if (ids.length === 0) return [];
  const { rows } = await tx.query<{ id: unknown }>(
    `SELECT id FROM flags WHERE id = ANY($1::bigint[]) ${closedOnly ? 'AND closed_at IS NOT NULL AND status = ANY($2::text[])' : ''}
     ORDER BY id FOR ${strength} SKIP LOCKED`,
    closedOnly ? [ids, CLOSED_STATUSES] : [ids],
  );
  return rows.map((row) => toNumber(row.id));
}

/**
 * Locks the deliveries of these (locked) flags, so an operator's retry (failed to pending) cannot
 * land between the purge's last look at them and its delete: a retry that committed first is seen
 * by the purge's next statement, and one that comes later waits for the purge to commit.
 */
async function lockDeliveries(tx: Queryable, flagIds: readonly number[]): Promise<void> {
  if (flagIds.length > 0) await tx.query('SELECT id FROM deliveries WHERE flag_id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [flagIds]);
}

type ClosedFlagRow = { id: unknown; categories: string[]; status: FlagStatus; closed_at: Date };

/** Closed flags past the shortest period with no copy in flight; `ids` narrows to those. Read without a lock. */
const closedFlagsSql = (ids: boolean): string =>
  `SELECT f.id, f.categories, f.status, f.closed_at FROM flags f
   WHERE f.closed_at IS NOT NULL AND f.status = ANY($3::text[]) AND f.closed_at <= ${before('$1', '$2')}
     AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.flag_id = f.id AND d.status IN ${IN_FLIGHT})
     ${ids ? 'AND f.id = ANY($4::bigint[])' : ''}`;

const shortestDays = (policy: RetentionPolicy): number => Math.min(policy.falsePositiveDays, ...Object.values(policy.categories));

async function purgeFlags(tx: Queryable, policy: RetentionPolicy, at: Date): Promise<Pick<PurgeCounts, 'flags' | 'findings' | 'occurrences' | 'reviews' | 'deliveries'>> {
  const params = [at, shortestDays(policy), CLOSED_STATUSES];
  // Only the expired are locked (not every closed flag kept for years): their per-category periods are applied here.
  const closed = await tx.query<ClosedFlagRow>(closedFlagsSql(false), params);
  // Locked (FOR UPDATE: they are deleted): new deliveries and occurrences of a locked flag wait, their foreign keys need its row.
  const locked = await lockFlags(tx, expired(closed.rows, (row) => row.closed_at, at, policy).map((row) => toNumber(row.id)), 'UPDATE', true);
  await lockDeliveries(tx, locked);
  // Looked at again now that nothing can change: a reopening or a retry that committed before the locks shows here.
  const { rows } = locked.length === 0 ? { rows: [] } : await tx.query<ClosedFlagRow>(closedFlagsSql(true), [...params, locked]);
  const ids = expired(rows, (row) => row.closed_at, at, policy).map((row) => toNumber(row.id));
  if (ids.length === 0) return { flags: 0, findings: 0, occurrences: 0, reviews: 0, deliveries: 0 };
  const of = (table: string): Promise<number> => count(tx, `SELECT count(*) AS n FROM ${table} WHERE flag_id = ANY($1::bigint[])`, [ids]);
  const counts = { findings: await of('findings'), occurrences: await of('occurrences'), reviews: await of('reviews'), deliveries: await of('deliveries') };
  // The key stays (flag_id becomes null) so a resynced mailbox does not flag the message again;
  // it is kept scannedKeysDays from now, not from when the message was first scanned years ago.
  await tx.query('UPDATE messages SET scanned_at = $2 WHERE flag_id = ANY($1::bigint[])', [ids, at]);
  const deleted = await tx.query('DELETE FROM flags WHERE id = ANY($1::bigint[])', [ids]);
  return { flags: deleted.rowCount, ...counts };
}

type StrandedRow = { flag_id: unknown; stored_at: Date; categories: string[]; status: FlagStatus };

/** Originals stored before the shortest period, kept for a retry of a failed copy, with nothing in flight; `ids` narrows to those. */
const strandedSql = (ids: boolean): string =>
  `SELECT o.flag_id, o.stored_at, f.categories, f.status FROM copy_originals o JOIN flags f ON f.id = o.flag_id
   WHERE o.stored_at <= ${before('$1', '$2')}
     AND EXISTS (SELECT 1 FROM deliveries d WHERE d.flag_id = o.flag_id AND d.status = 'failed')
     AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.flag_id = o.flag_id AND d.status IN ${IN_FLIGHT})
     ${ids ? 'AND o.flag_id = ANY($3::bigint[])' : ''}`;

/** Originals the copier keeps for a retry of a failed copy: once nothing is in flight and the flag's period has passed, nobody will retry. */
async function purgeStrandedOriginals(tx: Queryable, policy: RetentionPolicy, at: Date): Promise<number> {
  const params = [at, shortestDays(policy)];
  const stranded = await tx.query<StrandedRow>(strandedSql(false), params);
  // The flag stays, so NO KEY UPDATE: a new occurrence of it need not wait for the purge.
  const locked = await lockFlags(tx, expired(stranded.rows, (row) => row.stored_at, at, policy).map((row) => toNumber(row.flag_id)), 'NO KEY UPDATE', false);
  await lockDeliveries(tx, locked);
  const { rows } = locked.length === 0 ? { rows: [] } : await tx.query<StrandedRow>(strandedSql(true), [...params, locked]);
  const ids = expired(rows, (row) => row.stored_at, at, policy).map((row) => toNumber(row.flag_id));
  if (ids.length === 0) return 0;
  return (await tx.query('DELETE FROM copy_originals WHERE flag_id = ANY($1::bigint[])', [ids])).rowCount;
}

async function purgeDigests(tx: Queryable, policy: RetentionPolicy, at: Date): Promise<{ digests: number; deliveries: number }> {
  // Each route's newest digest stays: the next one's period starts where it ended.
  const { rows } = await tx.query<{ id: unknown }>(
    `SELECT g.id FROM digests g
     WHERE g.period_end <= ${before('$1', '$2')}
       AND g.period_end < (SELECT max(h.period_end) FROM digests h WHERE h.route = g.route)
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.digest_id = g.id AND d.status IN ('pending', 'sending', 'uncertain'))`,
    [at, policy.digestsDays],
  );
  const ids = rows.map((row) => toNumber(row.id));
  if (ids.length === 0) return { digests: 0, deliveries: 0 };
  const deliveries = await count(tx, 'SELECT count(*) AS n FROM deliveries WHERE digest_id = ANY($1::bigint[])', [ids]);
  const deleted = await tx.query('DELETE FROM digests WHERE id = ANY($1::bigint[])', [ids]);
  return { digests: deleted.rowCount, deliveries };
}

async function deleteWhere(tx: Queryable, sql: string, params: readonly unknown[]): Promise<number> {
  return (await tx.query(sql, params)).rowCount;
}

async function purgeAll(tx: Queryable, policy: RetentionPolicy, at: Date): Promise<PurgeCounts> {
  const flags = await purgeFlags(tx, policy, at);
  const copyOriginals = await purgeStrandedOriginals(tx, policy, at);
  const digests = await purgeDigests(tx, policy, at);
  const retainedMessages = await deleteWhere(
    tx,
    `DELETE FROM retained_messages r USING authorisations a
     WHERE r.authorisation_id = a.id AND LEAST(a.ends_at, COALESCE(a.revoked_at, a.ends_at)) <= ${before('$1', '$2')}`,
    [at, policy.retainedMessagesDays],
  );
  // The record of an authorisation lasts as long as the audit log that names it.
  const endedAuthorisations = `LEAST(ends_at, COALESCE(revoked_at, ends_at)) <= ${before('$1', '$2')}`;
  const retainedWithAuthorisations = await count(
    tx,
    `SELECT count(*) AS n FROM retained_messages WHERE authorisation_id IN (SELECT id FROM authorisations WHERE ${endedAuthorisations})`,
    [at, policy.auditDays],
  );
  const authorisations = await deleteWhere(tx, `DELETE FROM authorisations WHERE ${endedAuthorisations}`, [at, policy.auditDays]);
  const suppressions = await deleteWhere(
    tx,
    `DELETE FROM suppressions WHERE LEAST(expires_at, COALESCE(revoked_at, expires_at)) <= ${before('$1', '$2')}`,
    [at, policy.falsePositiveDays],
  );
  const messageKeys = await deleteWhere(tx, `DELETE FROM messages WHERE flag_id IS NULL AND scanned_at <= ${before('$1', '$2')}`, [at, policy.scannedKeysDays]);
  const scanFailures = await deleteWhere(tx, `DELETE FROM scan_failures WHERE failed_at <= ${before('$1', '$2')}`, [at, policy.scanFailuresDays]);
  const sessions = await deleteWhere(tx, 'DELETE FROM sessions WHERE expires_at <= $1', [at]);
  // The audit log refuses deletes unless this transaction says it is the purge.
  await tx.query("SELECT set_config('kestrel.audit_purge', 'on', true)");
  // A flag's history outlives nothing of the flag: while the flag is kept (open, or in its period), so
  // is who saw and changed it; a group outcome's row is kept while any flag it changed is.
  const auditRows = await deleteWhere(
    tx,
    `DELETE FROM audit_log a WHERE a.at <= ${before('$1', '$2')}
       AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.id = CASE WHEN a.target ~ '^flag:[0-9]{1,18}$' THEN substring(a.target FROM 6)::bigint END)
       AND NOT (a.action = 'group.outcome' AND EXISTS (
         SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(a.details->'ids') = 'array' THEN a.details->'ids' ELSE '[]'::jsonb END) AS g(id)
         JOIN flags f ON f.id = CASE WHEN g.id ~ '^[0-9]{1,18}$' THEN g.id::bigint END))`,
    [at, policy.auditDays],
  );
  return {
    ...flags,
    deliveries: flags.deliveries + digests.deliveries,
    copyOriginals,
    digests: digests.digests,
    retainedMessages: retainedMessages + retainedWithAuthorisations,
    messageKeys,
    scanFailures,
    sessions,
    suppressions,
    authorisations,
    auditRows,
  };
}

export function createRetentionStore(client: SqlClient): RetentionStore {
  return {
    async purge(policy, options = {}) {
      const at = options.at ?? new Date();
      const actor = options.actor ?? 'kestrel';
      try {
        return await client.transaction(async (tx) => {
          await tx.query('SELECT pg_advisory_xact_lock($1)', [PURGE_LOCK]);
          if (options.unlessRanSince && (await count(tx, 'SELECT count(*) AS n FROM purges WHERE ran_at >= $1', [options.unlessRanSince])) > 0) return null;
          const counts = await purgeAll(tx, policy, at);
          // A dry run does the same work and rolls it back, so its counts are exactly what a real run
          // would delete; it locks what a real run would (the expired only), so its deletes never wait on a reviewer.
          if (options.dryRun) throw new DryRun(counts);
          const { rows } = await tx.query<{ id: unknown }>('INSERT INTO purges (ran_at, actor, counts) VALUES ($1, $2, $3::jsonb) RETURNING id', [at, actor, JSON.stringify(counts)]);
          const purgeId = toNumber(rows[0]!.id);
          await tx.query(`INSERT INTO audit_log (actor, action, target, details) VALUES ($1, 'purge.run', $2, $3::jsonb)`, [actor, `purge:${purgeId}`, JSON.stringify({ counts })]);
          return counts;
        });
      } catch (error) {
        if (error instanceof DryRun) return error.counts;
        throw error;
      }
    },

    async purges(limit = 20) {
      const { rows } = await client.query<{ id: unknown; ran_at: Date; actor: string; counts: PurgeCounts }>(
        'SELECT id, ran_at, actor, counts FROM purges ORDER BY ran_at DESC, id DESC LIMIT $1',
        [limit],
      );
      return rows.map((row) => ({ id: toNumber(row.id), ranAt: row.ran_at, actor: row.actor, counts: row.counts }));
    },

    async overdueFlags(policy, at) {
      const shortest = Math.min(...Object.values(policy.categories));
      const { rows } = await client.query<{ categories: string[]; status: FlagStatus; created_at: Date }>(
        `SELECT categories, status, created_at FROM flags WHERE closed_at IS NULL AND created_at <= ${before('$1', '$2')} ORDER BY created_at`,
        [at, shortest],
      );
      // An open flag is judged by its categories' period (it is not a false positive yet).
      const overdue = expired(
        rows.map((row) => ({ ...row, status: 'new' as FlagStatus })),
        (row) => row.created_at,
        at,
        policy,
      );
      return { count: overdue.length, oldestCreatedAt: overdue[0]?.created_at ?? null };
    },
  };
}
