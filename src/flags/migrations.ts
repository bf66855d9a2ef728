/**
 * The store's schema as an ordered list of migrations. A migration is never edited once released:
 * a change is a new entry with the next version. Each runs in its own transaction under an advisory
 * lock, so processes starting together against one PostgreSQL apply each migration exactly once.
 */
import type { Logger } from '../log.js';
import type { Queryable, SqlClient } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'checkpoints, scanned messages, flags, findings, occurrences',
    sql: `
      CREATE TABLE checkpoints (
        account        text NOT NULL,
        folder         text NOT NULL,
        uid_validity   text NOT NULL,
        last_uid       bigint NOT NULL CHECK (last_uid >= 0),
        highest_modseq numeric(20, 0),
        updated_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account, folder)
      );

      CREATE TABLE flags (
        id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_key             text NOT NULL UNIQUE,
        created_at              timestamptz NOT NULL DEFAULT now(),
        message_id              text,
        message_date            timestamptz,
        direction               text NOT NULL,
        severity                text NOT NULL CHECK (severity IN ('minor', 'moderate', 'severe', 'urgent')),
        urgent                  boolean NOT NULL,
        categories              text[] NOT NULL,
        routes                  text[] NOT NULL,
        from_party              jsonb,
        recipients              jsonb NOT NULL,
        problems                jsonb NOT NULL,
        attachments_not_scanned jsonb,
        duration_ms             double precision NOT NULL
      );
      CREATE INDEX flags_created_at ON flags (created_at);
      CREATE INDEX flags_severity ON flags (severity, created_at);
      CREATE INDEX flags_categories ON flags USING gin (categories);

      -- Every message scanned, by key only: clean mail leaves nothing else behind.
      CREATE TABLE messages (
        message_key text PRIMARY KEY,
        scanned_at  timestamptz NOT NULL DEFAULT now(),
        flag_id     bigint REFERENCES flags (id)
      );
      CREATE INDEX messages_flag_id ON messages (flag_id) WHERE flag_id IS NOT NULL;

      CREATE TABLE findings (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        flag_id     bigint NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
        position    integer NOT NULL,
        rule        text NOT NULL,
        description text NOT NULL,
        category    text NOT NULL,
        severity    text NOT NULL CHECK (severity IN ('minor', 'moderate', 'severe', 'urgent')),
        score       double precision NOT NULL,
        policy      text NOT NULL,
        evidence    jsonb NOT NULL,
        UNIQUE (flag_id, position)
      );
      CREATE INDEX findings_category ON findings (category);
      CREATE INDEX findings_rule ON findings (rule);

      CREATE TABLE occurrences (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        flag_id      bigint NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
        account      text NOT NULL,
        folder       text NOT NULL,
        uid_validity text NOT NULL,
        uid          bigint NOT NULL,
        seen_at      timestamptz NOT NULL,
        UNIQUE (flag_id, account, folder)
      );
      CREATE INDEX occurrences_mailbox ON occurrences (account, folder);
    `,
  },
  {
    version: 2,
    name: 'messages that could not be scanned',
    sql: `
      -- A message whose scan failed for good (time or memory limit, unreadable) is kept in view
      -- here, by key and mailbox position only, so an operator can find it: never silently lost.
      CREATE TABLE scan_failures (
        message_key  text PRIMARY KEY,
        account      text NOT NULL,
        folder       text NOT NULL,
        uid_validity text NOT NULL,
        uid          bigint NOT NULL,
        reason       text NOT NULL,
        failed_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX scan_failures_failed_at ON scan_failures (failed_at);
    `,
  },
  {
    version: 3,
    name: 'copies to the monitor: deliveries, originals awaiting delivery, escalation, digests',
    sql: `
      ALTER TABLE flags
        ADD COLUMN acknowledged_at timestamptz,
        ADD COLUMN acknowledged_by text,
        -- Escalation of an unacknowledged urgent flag: the index in delivery.escalation.to of the
        -- next address, and when that step is due.
        ADD COLUMN escalation_next integer NOT NULL DEFAULT 0,
        ADD COLUMN escalate_at timestamptz;
      CREATE INDEX flags_escalate_at ON flags (escalate_at) WHERE escalate_at IS NOT NULL;

      -- The original of a flagged message, sealed (AES-256-GCM), kept only while a full copy of it
      -- may still have to be sent: deleted once every delivery is sent and escalation is over.
      CREATE TABLE copy_originals (
        flag_id   bigint PRIMARY KEY REFERENCES flags (id) ON DELETE CASCADE,
        sealed    bytea NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE digests (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        route        text NOT NULL,
        period_start timestamptz NOT NULL,
        period_end   timestamptz NOT NULL,
        flag_count   integer NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        UNIQUE (route, period_end)
      );

      -- One row per (flag, recipient) or (digest, recipient), written before the first attempt:
      -- the idempotency record that makes a copy go out once. due_at is when a pending or
      -- uncertain delivery is next tried, and when a sending one's lease runs out. attempts is also
      -- the claim token: only the holder of that attempt records its outcome. cancelled: an
      -- escalation copy the acknowledgement of its flag made unnecessary.
      CREATE TABLE deliveries (
        id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        flag_id                bigint REFERENCES flags (id) ON DELETE CASCADE,
        digest_id              bigint REFERENCES digests (id) ON DELETE CASCADE,
        recipient              text NOT NULL,
        routes                 text[] NOT NULL,
        form                   text NOT NULL CHECK (form IN ('full', 'minimised', 'digest')),
        escalation_step        integer,
        copy_message_id        text NOT NULL UNIQUE,
        status                 text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'uncertain', 'sent', 'failed', 'cancelled')),
        attempts               integer NOT NULL DEFAULT 0,
        -- attempts when an operator last retried it: the attempt budget counts from there.
        retried_at_attempt     integer NOT NULL DEFAULT 0,
        -- An attempt may have reached the recipient (it was uncertain): look before sending again.
        maybe_delivered        boolean NOT NULL DEFAULT false,
        due_at                 timestamptz NOT NULL DEFAULT now(),
        last_error             text,
        response               text,
        resent_after_uncertain boolean NOT NULL DEFAULT false,
        created_at             timestamptz NOT NULL DEFAULT now(),
        sent_at                timestamptz,
        confirmed_at           timestamptz,
        CHECK ((flag_id IS NULL) <> (digest_id IS NULL)),
        UNIQUE (flag_id, recipient),
        UNIQUE (digest_id, recipient)
      );
      CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status IN ('pending', 'sending', 'uncertain');
      CREATE INDEX deliveries_unsent ON deliveries (status, id) WHERE status IN ('pending', 'sending', 'uncertain', 'failed');
    `,
  },
];

/** Any constant shared by every Kestrel process: it names the lock that serialises migrations. */
const MIGRATION_LOCK = 4_801_223_117;

const CREATE_LEDGER = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

export class SchemaTooNewError extends Error {
  constructor(where: string, databaseVersion: number, codeVersion: number) {
    super(
      `the flag store at ${where} has schema version ${databaseVersion}, newer than this Kestrel knows (${codeVersion}): ` +
        'upgrade Kestrel, or point store.url / store.dataDir at the database this version created',
    );
    this.name = 'SchemaTooNewError';
  }
}

async function appliedVersion(tx: Queryable): Promise<number> {
  const { rows } = await tx.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
  return rows[0]?.version ?? 0;
}

/**
 * Applies each pending migration in its own transaction. The lock is taken before the ledger is
 * read, so a process that waited for another sees that process's work and does not repeat it.
 */
export async function migrate(client: SqlClient, logger: Logger, migrations: readonly Migration[] = MIGRATIONS): Promise<void> {
  const latest = migrations.at(-1)?.version ?? 0;
  for (;;) {
    const applied = await client.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.exec(CREATE_LEDGER);
      const current = await appliedVersion(tx);
      if (current > latest) throw new SchemaTooNewError(client.description, current, latest);
      const next = migrations.find((m) => m.version > current);
      if (!next) return null;
      try {
        await tx.exec(next.sql);
      } catch (error) {
        throw new Error(`flag store migration ${next.version} (${next.name}) failed at ${client.description}: ${(error as Error).message}`, { cause: error });
      }
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [next.version, next.name]);
      return next;
    });
    if (!applied) return;
    logger.info({ store: client.description, version: applied.version, migration: applied.name }, 'flag store migrated');
  }
}
