/**
 * The flag store over SQL: checkpoints, the key of every message scanned, and for each flagged
 * message one flag with its findings and every mailbox it was seen in.
 */
import type { Logger } from '../log.js';
import type { PartySummary, ScanReport } from '../scan/pipeline.js';
import type { Direction, Finding, Severity } from '../scan/types.js';
import { groupKey } from './group-key.js';
import { migrate } from './migrations.js';
import { toNumber, type Queryable, type SqlClient } from './sql.js';
import { createDeliveryStore, writeOutbox, type DeliveryStore } from './deliveries.js';
import type { Checkpoint, FlagStore, Occurrence, PriorScan, RecordResult } from './types.js';
import { createAuditLog } from './audit.js';
import { createAuthorisationStore, type AuthorisationStore } from './authorisations.js';
import { createRetentionStore, type RetentionStore } from './retention.js';
import type { AuditLog } from './review-types.js';
import { createReviewQueries, type ReviewQueries } from './reviews.js';
import { createStatsStore, type StatsStore } from './stats.js';
import { createSuppressionStore, type SuppressionStore } from './suppressions.js';
import { createUserStore, type UserStore } from './users.js';

/** What the store keeps of a flagged message's report (`flagged` is implied, `spread` never kept). */
export type StoredReport = Omit<ScanReport, 'spread'>;

export interface StoredFlag {
  id: number;
  messageKey: string;
  createdAt: Date;
  report: StoredReport;
  occurrences: Occurrence[];
}

export interface ScanFailure {
  messageKey: string;
  account: string;
  folder: string;
  uid: number;
  reason: string;
  failedAt: Date;
}

export interface FlagReader {
  /** A flag with its findings in the report's order and its occurrences oldest first; null when there is none. */
  flag(flagId: number): Promise<StoredFlag | null>;
  /** Messages that could not be scanned, newest first. */
  scanFailures(limit?: number): Promise<ScanFailure[]>;
}

/** The review side: who reviews, what they decided, what they saw (audit), and what is kept for how long. */
export type ReviewStore = AuditLog & UserStore & ReviewQueries & SuppressionStore & AuthorisationStore & RetentionStore & StatsStore;

export type SqlFlagStore = FlagStore & FlagReader & DeliveryStore & ReviewStore;


/**
 * PostgreSQL refuses NUL in text and in jsonb strings. Mail can carry one (`=00` in a
 * quoted-printable body reaches an evidence excerpt): it becomes U+FFFD, or the flag could never
 * be recorded at all.
 */
function text<T extends string | null>(value: T): T {
  return (value === null ? value : value.replaceAll('\u0000', '\uFFFD')) as T;
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? text(v) : v));
}

/** Dates the parser could not read are kept as null rather than failing the record. */
function timestamp(date: string | null): string | null {
  if (date === null) return null;
  const parsed = new Date(date);
  return Number.isNaN(parsed.getTime()) ? null : parsed.toISOString();
}

const UPSERT_OCCURRENCE = `
  INSERT INTO occurrences (flag_id, account, folder, uid_validity, uid, seen_at)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (flag_id, account, folder) DO NOTHING`;

// A re-queued message or a UIDVALIDITY resync finds the mailbox already recorded: its position moves on.
const MOVE_OCCURRENCE = `
  UPDATE occurrences SET uid_validity = $4, uid = $5
  WHERE flag_id = $1 AND account = $2 AND folder = $3 AND (uid_validity <> $4 OR uid <> $5)`;

/** True when the mailbox is new to the flag. */
async function upsertOccurrence(tx: Queryable, flagId: number, occurrence: Occurrence): Promise<boolean> {
  const params = [flagId, occurrence.account, occurrence.folder, occurrence.uidValidity, occurrence.uid, occurrence.seenAt];
  const inserted = await tx.query(UPSERT_OCCURRENCE, params);
  if (inserted.rowCount > 0) return true;
  await tx.query(MOVE_OCCURRENCE, params.slice(0, 5));
  return false;
}

/** Every academy a party of the message belongs to, once each: a DSL's scope is one test on them. */
function academiesOf(report: ScanReport): string[] {
  const academies = [report.from, ...(report.recipients ?? [])].flatMap((party) => (party?.academy ? [party.academy] : []));
  return [...new Set(academies)].sort();
}

/** Only the fields named here are written: `report.spread` (fingerprints of the text) never reaches the store. */
async function insertFlag(tx: Queryable, messageKey: string, report: ScanReport): Promise<number> {
  const { rows } = await tx.query<{ id: unknown }>(
    `INSERT INTO flags (message_key, message_id, message_date, direction, severity, urgent, categories, routes,
                        from_party, recipients, problems, attachments_not_scanned, duration_ms, subject, academies, group_key)
     VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8::text[], $9::jsonb, $10::jsonb, $11::jsonb, $12::jsonb, $13, $14, $15::text[], $16)
     RETURNING id`,
    [
      messageKey,
      text(report.messageId),
      timestamp(report.date),
      report.direction,
      report.severity,
      report.urgent,
      report.categories,
      report.routes,
      json(report.from),
      json(report.recipients ?? []),
      json(report.problems),
      json(report.attachmentsNotScanned),
      report.durationMs,
      text(report.subject ?? null),
      academiesOf(report),
      groupKey(report.categories, report.findings),
    ],
  );
  const flagId = toNumber(rows[0]!.id);
  for (const [position, f] of report.findings.entries()) {
    await tx.query(
      `INSERT INTO findings (flag_id, position, rule, description, category, severity, score, policy, evidence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)`,
      [flagId, position, text(f.rule), text(f.description), f.category, f.severity, f.score, text(f.policy), json(f.evidence)],
    );
  }
  return flagId;
}

function checkOccurrence(occurrence: Occurrence): void {
  if (!Number.isSafeInteger(occurrence.uid) || occurrence.uid < 0) {
    throw new Error(`invalid UID ${occurrence.uid} for ${occurrence.account} ${occurrence.folder}`);
  }
}

type FlagRow = {
  id: unknown;
  message_key: string;
  created_at: Date;
  message_id: string | null;
  message_date: Date | null;
  direction: Direction;
  severity: Severity;
  urgent: boolean;
  categories: string[];
  routes: string[];
  from_party: PartySummary | null;
  recipients: PartySummary[];
  problems: string[];
  attachments_not_scanned: ScanReport['attachmentsNotScanned'] | null;
  duration_ms: number;
  subject: string | null;
};

/** A findings row has exactly a Finding's fields (the position orders them); mapped, so it is a plain row type. */
type FindingRow = { [K in keyof Finding]: Finding[K] };

type OccurrenceRow = {
  account: string;
  folder: string;
  uid_validity: string;
  uid: unknown;
  seen_at: Date;
};

function reportFrom(row: FlagRow, findings: Finding[]): StoredReport {
  return {
    messageId: row.message_id,
    date: row.message_date ? row.message_date.toISOString() : null,
    direction: row.direction,
    ...(row.subject !== null ? { subject: row.subject } : {}),
    flagged: true,
    categories: row.categories,
    severity: row.severity,
    urgent: row.urgent,
    findings,
    routes: row.routes,
    ...(row.from_party ? { from: row.from_party } : {}),
    recipients: row.recipients,
    problems: row.problems,
    ...(row.attachments_not_scanned ? { attachmentsNotScanned: row.attachments_not_scanned } : {}),
    durationMs: row.duration_ms,
  };
}

/** A flag with its findings in the report's order and its occurrences oldest first; null when there is none. */
async function readFlag(client: Queryable, flagId: number): Promise<StoredFlag | null> {
  const { rows } = await client.query<FlagRow>('SELECT * FROM flags WHERE id = $1', [flagId]);
  const row = rows[0];
  if (!row) return null;
  const findings = await client.query<FindingRow>(
    'SELECT rule, description, category, severity, score, policy, evidence FROM findings WHERE flag_id = $1 ORDER BY position',
    [flagId],
  );
  const occurrences = await client.query<OccurrenceRow>(
    'SELECT account, folder, uid_validity, uid, seen_at FROM occurrences WHERE flag_id = $1 ORDER BY seen_at, id',
    [flagId],
  );
  return {
    id: toNumber(row.id),
    messageKey: row.message_key,
    createdAt: row.created_at,
    report: reportFrom(row, findings.rows),
    occurrences: occurrences.rows.map((o) => ({ account: o.account, folder: o.folder, uidValidity: o.uid_validity, uid: toNumber(o.uid), seenAt: o.seen_at })),
  };
}

export function createSqlFlagStore(client: SqlClient, logger: Logger): SqlFlagStore {
  return {
    ...createDeliveryStore(client),
    ...createAuditLog(client),
    ...createUserStore(client),
    ...createReviewQueries(client, { flag: (flagId) => readFlag(client, flagId) }),
    ...createSuppressionStore(client),
    ...createAuthorisationStore(client),
    ...createRetentionStore(client),
    ...createStatsStore(client),
    migrate: () => migrate(client, logger),

    async checkpoint(account, folder) {
      const { rows } = await client.query<{ uid_validity: string; last_uid: unknown; highest_modseq: string | null }>(
        'SELECT uid_validity, last_uid, highest_modseq::text AS highest_modseq FROM checkpoints WHERE account = $1 AND folder = $2',
        [account, folder],
      );
      const row = rows[0];
      if (!row) return null;
      const checkpoint: Checkpoint = { uidValidity: row.uid_validity, lastUid: toNumber(row.last_uid) };
      if (row.highest_modseq !== null) checkpoint.highestModseq = row.highest_modseq;
      return checkpoint;
    },

    async advanceCheckpoint(account, folder, checkpoint) {
      if (!Number.isSafeInteger(checkpoint.lastUid) || checkpoint.lastUid < 0) {
        throw new Error(`invalid checkpoint UID ${checkpoint.lastUid} for ${account} ${folder}`);
      }
      if (checkpoint.highestModseq !== undefined && !/^\d{1,20}$/.test(checkpoint.highestModseq)) {
        throw new Error(`invalid HIGHESTMODSEQ "${checkpoint.highestModseq}" for ${account} ${folder}`);
      }
      // The guard keeps a late or repeated advance from moving the checkpoint back within an epoch;
      // a different UIDVALIDITY means the server renumbered the folder, so the old epoch is dropped.
      await client.query(
        `INSERT INTO checkpoints (account, folder, uid_validity, last_uid, highest_modseq, updated_at)
         VALUES ($1, $2, $3, $4, $5::numeric, now())
         ON CONFLICT (account, folder) DO UPDATE SET
           uid_validity = EXCLUDED.uid_validity,
           last_uid = EXCLUDED.last_uid,
           highest_modseq = CASE WHEN checkpoints.uid_validity = EXCLUDED.uid_validity
                                 THEN GREATEST(checkpoints.highest_modseq, EXCLUDED.highest_modseq)
                                 ELSE EXCLUDED.highest_modseq END,
           updated_at = EXCLUDED.updated_at
         WHERE checkpoints.uid_validity <> EXCLUDED.uid_validity OR checkpoints.last_uid <= EXCLUDED.last_uid`,
        [account, folder, checkpoint.uidValidity, checkpoint.lastUid, checkpoint.highestModseq ?? null],
      );
    },

    async priorScan(messageKey): Promise<PriorScan> {
      const { rows } = await client.query<{ flag_id: unknown }>('SELECT flag_id FROM messages WHERE message_key = $1', [messageKey]);
      const row = rows[0];
      if (!row) return null;
      return { flagId: row.flag_id === null ? null : toNumber(row.flag_id) };
    },

    async recordScan(messageKey, occurrence, report, outbox): Promise<RecordResult> {
      checkOccurrence(occurrence);
      if (report.flagged && report.severity === null) throw new Error(`flagged report for message ${messageKey} has no severity`);
      if (!report.flagged) {
        // Most mail is clean: one statement claims its key and clears any earlier failure. When the
        // key was already there, the transaction below decides what this mailbox adds.
        const { rows } = await client.query<{ claimed: unknown }>(
          `WITH claim AS (INSERT INTO messages (message_key) VALUES ($1) ON CONFLICT (message_key) DO NOTHING RETURNING message_key),
                cleared AS (DELETE FROM scan_failures WHERE message_key = $1 AND EXISTS (SELECT 1 FROM claim))
           SELECT count(*) AS claimed FROM claim`,
          [messageKey],
        );
        if (toNumber(rows[0]?.claimed) === 1) return { flagId: null, created: true, deliveries: [] };
      }
      return client.transaction(async (tx) => {
        // Claiming the key decides the race: a second worker's insert waits for the first to
        // commit and then finds the row, so exactly one of them writes the flag.
        const claim = await tx.query('INSERT INTO messages (message_key) VALUES ($1) ON CONFLICT (message_key) DO NOTHING', [messageKey]);
        if (claim.rowCount === 0) {
          const { rows } = await tx.query<{ flag_id: unknown }>('SELECT flag_id FROM messages WHERE message_key = $1', [messageKey]);
          const flagId = rows[0]?.flag_id == null ? null : toNumber(rows[0].flag_id);
          if (flagId !== null) await upsertOccurrence(tx, flagId, occurrence);
          return { flagId, created: false, deliveries: [] };
        }
        await tx.query('DELETE FROM scan_failures WHERE message_key = $1', [messageKey]);
        if (!report.flagged) return { flagId: null, created: true, deliveries: [] };
        const flagId = await insertFlag(tx, messageKey, report);
        await tx.query('UPDATE messages SET flag_id = $2 WHERE message_key = $1', [messageKey, flagId]);
        await upsertOccurrence(tx, flagId, occurrence);
        // In the flag's transaction: a flag never exists without the copies it owes.
        const deliveries = outbox ? await writeOutbox(tx, flagId, outbox) : [];
        logger.debug({ flagId, severity: report.severity, categories: report.categories, deliveries: deliveries.length }, 'flag recorded');
        return { flagId, created: true, deliveries };
      });
    },

    async recordFailure(messageKey, occurrence, reason) {
      checkOccurrence(occurrence);
      await client.query(
        `INSERT INTO scan_failures (message_key, account, folder, uid_validity, uid, reason)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (message_key) DO UPDATE SET reason = EXCLUDED.reason, failed_at = now()`,
        [messageKey, occurrence.account, occurrence.folder, occurrence.uidValidity, occurrence.uid, reason],
      );
      logger.warn({ account: occurrence.account, uid: occurrence.uid }, 'message could not be scanned: recorded in scan_failures');
    },

    async addOccurrence(flagId, occurrence) {
      checkOccurrence(occurrence);
      return client.transaction(async (tx) => {
        const { rowCount } = await tx.query('SELECT 1 FROM flags WHERE id = $1', [flagId]);
        if (rowCount === 0) throw new Error(`flag ${flagId} does not exist (occurrence in ${occurrence.account} ${occurrence.folder})`);
        return upsertOccurrence(tx, flagId, occurrence);
      });
    },

    flag: (flagId) => readFlag(client, flagId),

    async scanFailures(limit = 100) {
      const { rows } = await client.query<{ message_key: string; account: string; folder: string; uid: unknown; reason: string; failed_at: Date }>(
        'SELECT message_key, account, folder, uid, reason, failed_at FROM scan_failures ORDER BY failed_at DESC LIMIT $1',
        [limit],
      );
      return rows.map((r) => ({ messageKey: r.message_key, account: r.account, folder: r.folder, uid: toNumber(r.uid), reason: r.reason, failedAt: r.failed_at }));
    },

    close: () => client.close(),
  };
}
