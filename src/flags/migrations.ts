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
  {
    version: 4,
    name: 'review: users, sessions, outcomes, suppressions, targeted monitoring, audit log, retention',
    sql: `
      -- What reviewers see and filter on. subject: kept for flagged mail only, like the parties.
      -- academies: every academy a party belongs to, so a DSL's scope is one indexed test.
      -- group_key: near-identical flags (same categories, rules and matched words) share it.
      ALTER TABLE flags
        ADD COLUMN subject text,
        ADD COLUMN academies text[] NOT NULL DEFAULT '{}',
        ADD COLUMN group_key text,
        ADD COLUMN status text NOT NULL DEFAULT 'new'
          CHECK (status IN ('new', 'in_review', 'escalated', 'actioned', 'no_further_action', 'false_positive')),
        ADD COLUMN status_changed_at timestamptz,
        -- When the flag reached a final outcome (actioned, no further action, false positive): retention counts from here.
        ADD COLUMN closed_at timestamptz;
      UPDATE flags SET
        academies = ARRAY(
          SELECT DISTINCT a FROM (
            SELECT from_party->>'academy' AS a
            UNION ALL SELECT r->>'academy' FROM jsonb_array_elements(recipients) AS r
          ) AS parties WHERE a IS NOT NULL),
        group_key = 'flag:' || id;
      ALTER TABLE flags ALTER COLUMN group_key SET NOT NULL;
      CREATE INDEX flags_academies ON flags USING gin (academies);
      CREATE INDEX flags_status ON flags (status, created_at);
      CREATE INDEX flags_group_key ON flags (group_key, created_at);

      -- A purged flag leaves its message key behind (flag_id null): the message is not flagged again
      -- when a mailbox is resynced; the key itself goes after retention.scannedKeysDays.
      ALTER TABLE messages DROP CONSTRAINT messages_flag_id_fkey;
      ALTER TABLE messages ADD CONSTRAINT messages_flag_id_fkey FOREIGN KEY (flag_id) REFERENCES flags (id) ON DELETE SET NULL;
      CREATE INDEX messages_scanned_at ON messages (scanned_at);

      CREATE TABLE users (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        username      text NOT NULL UNIQUE CHECK (username = lower(username)),
        display_name  text NOT NULL,
        email         text UNIQUE CHECK (email = lower(email)),
        role          text NOT NULL CHECK (role IN ('monitor', 'dsl', 'dpo', 'ict_admin', 'auditor')),
        -- A DSL sees the flags of their own academy only.
        academy       text,
        -- scrypt, with its parameters and salt; null for an account that signs in with OIDC only.
        password_hash text,
        -- issuer and subject of the OIDC identity bound to this account at its first OIDC sign-in.
        oidc_subject  text UNIQUE,
        failed_logins integer NOT NULL DEFAULT 0,
        locked_until  timestamptz,
        -- Accounts are disabled, never deleted: the audit log and outcomes keep naming them.
        disabled_at   timestamptz,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        CHECK ((role = 'dsl') = (academy IS NOT NULL))
      );

      -- id_hash: SHA-256 of the cookie's random token, so a copy of this table opens no session.
      CREATE TABLE sessions (
        id_hash      text PRIMARY KEY,
        user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf_token   text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz NOT NULL
      );
      CREATE INDEX sessions_user ON sessions (user_id);
      CREATE INDEX sessions_expires_at ON sessions (expires_at);

      -- The outcome history of a flag: every change of status, with who made it and why.
      CREATE TABLE reviews (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        flag_id      bigint NOT NULL REFERENCES flags (id) ON DELETE CASCADE,
        user_id      bigint REFERENCES users (id),
        reviewer     text NOT NULL,
        from_status  text NOT NULL,
        status       text NOT NULL CHECK (status IN ('new', 'in_review', 'escalated', 'actioned', 'no_further_action', 'false_positive')),
        -- For status escalated: to whom (000_84beb20efc1da5e6.txt 13.5).
        escalated_to text[] NOT NULL DEFAULT '{}' CHECK (escalated_to <@ ARRAY['dsl', 'lado', 'police']::text[]),
        note         text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX reviews_flag_id ON reviews (flag_id, created_at);

      -- A reviewer's false positive, fed back into scanning: findings of rule from sender (any
      -- sender when null) whose matched words normalise to phrase (any words when null) are
      -- dropped until expires_at. Never both null: switching a rule off is disableRules' job.
      CREATE TABLE suppressions (
        id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        rule        text NOT NULL,
        sender      text CHECK (sender = lower(sender)),
        phrase      text,
        reason      text NOT NULL,
        flag_id     bigint REFERENCES flags (id) ON DELETE SET NULL,
        created_by  bigint REFERENCES users (id),
        created_at  timestamptz NOT NULL DEFAULT now(),
        expires_at  timestamptz NOT NULL,
        revoked_at  timestamptz,
        revoked_by  bigint REFERENCES users (id),
        hits        integer NOT NULL DEFAULT 0,
        last_hit_at timestamptz,
        CHECK (sender IS NOT NULL OR phrase IS NOT NULL),
        CHECK (expires_at > created_at)
      );
      CREATE INDEX suppressions_active ON suppressions (expires_at) WHERE revoked_at IS NULL;

      -- Targeted monitoring of one account (003_c7be022a1d032c68.txt 7.1-7.2): while active, its
      -- messages are kept for review even when nothing is flagged. It ends on its own at ends_at.
      CREATE TABLE authorisations (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account       text NOT NULL CHECK (account = lower(account)),
        reason        text NOT NULL,
        approver      text NOT NULL,
        pia_reference text NOT NULL,
        starts_at     timestamptz NOT NULL,
        ends_at       timestamptz NOT NULL,
        created_by    bigint REFERENCES users (id),
        created_at    timestamptz NOT NULL DEFAULT now(),
        revoked_at    timestamptz,
        revoked_by    bigint REFERENCES users (id),
        revoke_reason text,
        reminded_at   timestamptz,
        CHECK (ends_at > starts_at)
      );
      CREATE INDEX authorisations_account ON authorisations (account, ends_at) WHERE revoked_at IS NULL;

      -- A message of a monitored account, sealed (AES-256-GCM, the copy originals' key).
      CREATE TABLE retained_messages (
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        authorisation_id bigint NOT NULL REFERENCES authorisations (id) ON DELETE CASCADE,
        message_key      text NOT NULL,
        flag_id          bigint REFERENCES flags (id) ON DELETE SET NULL,
        direction        text NOT NULL,
        message_date     timestamptz,
        sealed           bytea NOT NULL,
        stored_at        timestamptz NOT NULL DEFAULT now(),
        UNIQUE (authorisation_id, message_key)
      );
      CREATE INDEX retained_messages_stored_at ON retained_messages (stored_at);

      -- Append-only: who viewed, exported or changed what. Details never hold message content.
      CREATE TABLE audit_log (
        id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at       timestamptz NOT NULL DEFAULT now(),
        actor_id bigint,
        actor    text NOT NULL,
        role     text,
        action   text NOT NULL,
        target   text,
        details  jsonb NOT NULL DEFAULT '{}',
        ip       text
      );
      CREATE INDEX audit_log_at ON audit_log (at);
      CREATE INDEX audit_log_target ON audit_log (target, at);
      CREATE INDEX audit_log_actor ON audit_log (actor_id, at);

      -- Rows change only by the retention purge, which sets kestrel.audit_purge in its own transaction.
      CREATE FUNCTION kestrel_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('kestrel.audit_purge', true) = 'on' THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
      END
      $$;
      CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION kestrel_audit_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION kestrel_audit_append_only();

      -- Each run of the retention purge: what it deleted, by kind.
      CREATE TABLE purges (
        id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ran_at timestamptz NOT NULL DEFAULT now(),
        actor  text NOT NULL,
        counts jsonb NOT NULL
      );
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
