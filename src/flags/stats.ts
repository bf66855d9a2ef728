/**
 * Counts for the dashboard and the ops view: flags by category, academy and week within a
 * reviewer's scope, and the pipeline's own records (checkpoints, scan failures). Counts only:
 * nothing here reads a subject, a party or evidence.
 */
import { CLOSED_STATUSES, type FlagScope } from './review-types.js';
import { Params, scopeCondition, visibleCategory } from './scope-sql.js';
import { toNumber, type SqlClient } from './sql.js';

export interface Count {
  /** A category or an academy; null: flags with no academy. */
  key: string | null;
  count: number;
}

export interface WeekCount {
  /** ISO 8601 week, e.g. `2026-W47`. */
  week: string;
  /** Monday 00:00 of the week in the trust's time zone. */
  start: Date;
  count: number;
}

export interface FlagStatsQuery {
  /** The last week counted is the one holding `now`. */
  now: Date;
  /** How many ISO weeks, counting back from now's; every count covers these weeks. */
  weeks: number;
  /** Weeks start on Monday in this IANA zone (the trust's). */
  timeZone: string;
}

export interface FlagStats {
  /** Start of the first week counted. */
  since: Date;
  /** Flags created in the weeks counted. */
  total: number;
  /** A flag with several categories counts once under each; most first. */
  byCategory: Count[];
  /** A flag with parties in several academies counts once under each; most first. */
  byAcademy: Count[];
  /** Every week, oldest first, zero when nothing was flagged. */
  byWeek: WeekCount[];
  /** Of the flags counted: still open (new, in review, escalated) and closed (a final outcome). */
  open: number;
  closed: number;
  /** Urgent flags nobody has acknowledged, however old: what needs someone now. */
  urgentUnacknowledged: number;
}

export interface CheckpointState {
  account: string;
  folder: string;
  lastUid: number;
  /** When the checkpoint last moved. */
  updatedAt: Date;
}

export interface StatsStore {
  flagStats(scope: FlagScope, query: FlagStatsQuery): Promise<FlagStats>;
  /** Every folder's checkpoint, by account and folder. */
  checkpointStates(): Promise<CheckpointState[]>;
  scanFailureCount(): Promise<number>;
}

const MAX_WEEKS = 104;

export function createStatsStore(client: SqlClient): StatsStore {
  return {
    async flagStats(scope, query) {
      if (!Number.isSafeInteger(query.weeks) || query.weeks < 1 || query.weeks > MAX_WEEKS) throw new Error(`flag stats: weeks ${query.weeks} is not between 1 and ${MAX_WEEKS}`);
      // $1 now, $2 zone, $3 weeks; the scope's parameters follow.
      const numbered = new Params();
      numbered.add(query.now);
      numbered.add(query.timeZone);
      numbered.add(query.weeks);
      const scoped = scopeCondition(scope, numbered, 'f');
      const params = [...numbered.values];
      // A DPO counts a mixed flag under its personal-data categories only (parameters after the window's: only that query has them).
      const shownCategory = visibleCategory(scope, numbered, 'c');
      // A DSL's flags may name other academies too: only their own academy's row is theirs to see.
      const academyOnly = scope.kind === 'academy' ? { sql: `WHERE a = $${params.length + 1}::text`, params: [scope.academy] } : { sql: '', params: [] };
      const urgentParams = new Params();
      const urgentScope = scopeCondition(scope, urgentParams, 'f');
      // A DPO's urgent flags are those with an urgent personal-data finding, not a mixed flag's other urgency.
      const urgentCondition =
        scope.kind === 'category_prefix'
          ? `EXISTS (SELECT 1 FROM findings fi WHERE fi.flag_id = f.id AND fi.severity = 'urgent' AND ${visibleCategory(scope, urgentParams, 'fi.category')})`
          : 'f.urgent';
      const window = `
        WITH bounds AS (
          SELECT date_trunc('week', $1::timestamptz AT TIME ZONE $2::text) - ($3::int - 1) * interval '1 week' AS first_week,
                 date_trunc('week', $1::timestamptz AT TIME ZONE $2::text) AS last_week
        ),
        counted AS (
          SELECT f.* FROM flags AS f, bounds
          WHERE ${scoped}
            AND f.created_at >= bounds.first_week AT TIME ZONE $2::text
            AND f.created_at < (bounds.last_week + interval '1 week') AT TIME ZONE $2::text
        )`;

      const [summary, categories, academies, weeks, urgent] = await Promise.all([
        client.query<{ since: Date; total: unknown; closed: unknown }>(
          `${window}
           SELECT (SELECT first_week AT TIME ZONE $2::text FROM bounds) AS since, count(*) AS total,
                  count(*) FILTER (WHERE status = ANY ($${params.length + 1}::text[])) AS closed
           FROM counted`,
          [...params, CLOSED_STATUSES],
        ),
        client.query<{ key: string; count: unknown }>(
          `${window}
           SELECT c AS key, count(*) AS count FROM counted, unnest(counted.categories) AS c
           WHERE ${shownCategory}
           GROUP BY c ORDER BY count(*) DESC, c`,
          numbered.values,
        ),
        client.query<{ key: string | null; count: unknown }>(
          `${window}
           SELECT a AS key, count(*) AS count
           FROM counted LEFT JOIN LATERAL unnest(counted.academies) AS a ON true ${academyOnly.sql}
           GROUP BY a ORDER BY count(*) DESC, a NULLS LAST`,
          [...params, ...academyOnly.params],
        ),
        client.query<{ week: string; start: Date; count: unknown }>(
          `${window}
           SELECT to_char(w, 'IYYY-"W"IW') AS week, w AT TIME ZONE $2::text AS start,
                  (SELECT count(*) FROM counted
                   WHERE counted.created_at >= w AT TIME ZONE $2::text AND counted.created_at < (w + interval '1 week') AT TIME ZONE $2::text) AS count
           FROM bounds, generate_series(bounds.first_week, bounds.last_week, interval '1 week') AS w
           ORDER BY w`,
          params,
        ),
        client.query<{ count: unknown }>(
          `SELECT count(*) AS count FROM flags AS f WHERE ${urgentCondition} AND f.acknowledged_at IS NULL AND ${urgentScope}`,
          urgentParams.values,
        ),
      ]);
      const row = summary.rows[0]!;
      const total = toNumber(row.total);
      const closed = toNumber(row.closed);
      return {
        since: row.since,
        total,
        byCategory: categories.rows.map((r) => ({ key: r.key, count: toNumber(r.count) })),
        byAcademy: academies.rows.map((r) => ({ key: r.key, count: toNumber(r.count) })),
        byWeek: weeks.rows.map((r) => ({ week: r.week, start: r.start, count: toNumber(r.count) })),
        open: total - closed,
        closed,
        urgentUnacknowledged: toNumber(urgent.rows[0]?.count),
      };
    },

    async checkpointStates() {
      const { rows } = await client.query<{ account: string; folder: string; last_uid: unknown; updated_at: Date }>(
        'SELECT account, folder, last_uid, updated_at FROM checkpoints ORDER BY account, folder',
      );
      return rows.map((r) => ({ account: r.account, folder: r.folder, lastUid: toNumber(r.last_uid), updatedAt: r.updated_at }));
    },

    async scanFailureCount() {
      const { rows } = await client.query<{ count: unknown }>('SELECT count(*) AS count FROM scan_failures');
      return toNumber(rows[0]?.count);
    },
  };
}
