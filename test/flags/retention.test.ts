/**
 * The retention purge on PGlite and PostgreSQL. Rows are aged by moving their timestamps back; the
 * audit log refuses updates, so its old rows are written with an old `at`.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionSchema } from '../../src/config/retention-schema.js';
import { sealRetained } from '../../src/flags/authorisations.js';
import { createDeliveryStore } from '../../src/flags/deliveries.js';
import { categoryDays, flagDays, type PurgeCounts, type PurgeOptions } from '../../src/flags/retention.js';
import type { SqlClient } from '../../src/flags/sql.js';
import { toNumber } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { type Backend, cleanReport, flaggedReport, occurrence, pgliteBackend, postgresBackend, silent } from './support.js';

const policy = retentionSchema.parse({ categories: { 'personal_data.*': 730, 'personal_data.credentials': 30 } });

describe('retention periods', () => {
  it('take the most specific pattern for a category, and the longest category for a flag', () => {
    expect(categoryDays('safety.self_harm', policy.categories)).toBe(2190);
    expect(categoryDays('personal_data.credentials', policy.categories)).toBe(30);
    expect(categoryDays('personal_data.bulk_records', policy.categories)).toBe(730);
    expect(categoryDays('chain_mail', policy.categories)).toBe(365);
    expect(categoryDays('profanity', policy.categories)).toBe(90);
    expect(flagDays({ categories: ['profanity', 'personal_data.credentials'], status: 'actioned' }, policy)).toBe(90);
    expect(flagDays({ categories: ['safety.self_harm'], status: 'false_positive' }, policy)).toBe(30);
  });

  it('keep the audit log at least as long as any flag', () => {
    expect(() => retentionSchema.parse({ auditDays: 100 })).toThrow(/auditDays|at least the longest flag period \(2190 days\)/);
  });
});

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('the purge on $name', ({ start }) => {
  let backend: Backend;
  let client: SqlClient;
  let store: SqlFlagStore;
  let userId: number;
  let n = 0;

  beforeAll(async () => {
    backend = await start();
    const db = await backend.fresh();
    client = db.client;
    store = createSqlFlagStore(client, silent);
    await store.migrate();
    const { rows } = await client.query<{ id: unknown }>("INSERT INTO users (username, display_name, role) VALUES ('mon', 'Mon', 'monitor') RETURNING id");
    userId = toNumber(rows[0]!.id);
  });

  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  const count = async (sql: string, params: unknown[] = []): Promise<number> => toNumber((await client.query<{ n: unknown }>(sql, params)).rows[0]?.n);

  /** A flag (urgent self-harm: safety.*, 2190 days) with a delivery (sent unless said) and an outcome. */
  async function flag(status: 'new' | 'in_review' | 'actioned' | 'false_positive', closedDaysAgo: number | null, delivery = 'sent'): Promise<{ id: number; key: string }> {
    const key = `purge-${++n}`;
    const result = await store.recordScan(key, occurrence(key, 'INBOX', n), await flaggedReport(key), {
      deliveries: [{ recipient: 'monitor@oakfield.sch.uk', routes: ['monitor'], form: 'full', messageId: `<copy-${key}@oakfield.sch.uk>` }],
    });
    const id = result.flagId!;
    await client.query('UPDATE deliveries SET status = $2 WHERE flag_id = $1', [id, delivery]);
    await client.query("INSERT INTO reviews (flag_id, user_id, reviewer, from_status, status, note) VALUES ($1, $2, 'mon', 'new', $3, 'note')", [id, userId, status]);
    if (closedDaysAgo !== null) {
      await client.query(`UPDATE flags SET status = $2, closed_at = now() - $3 * interval '1 day', created_at = now() - ($3 + 1) * interval '1 day' WHERE id = $1`, [id, status, closedDaysAgo]);
    }
    return { id, key };
  }

  async function olderThan(table: string, column: string, days: number, where: string, params: unknown[]): Promise<void> {
    await client.query(`UPDATE ${table} SET ${column} = now() - $${params.length + 1} * interval '1 day' WHERE ${where}`, [...params, days]);
  }

  it('deletes what is past its period, keeps the rest, records the run, and a dry run deletes nothing', async () => {
    const expired = await flag('actioned', 2191);
    const kept = await flag('actioned', 2000);
    const falsePositive = await flag('false_positive', 31);
    const recentFalsePositive = await flag('false_positive', 5);
    // Closed long ago, but a copy is still in flight: the copier needs the flag, its delivery rows and its original.
    const inFlight = await Promise.all((['pending', 'sending', 'uncertain'] as const).map((d) => flag('actioned', 2191, d)));
    for (const f of inFlight) await client.query('INSERT INTO copy_originals (flag_id, sealed) VALUES ($1, $2)', [f.id, Buffer.from('sealed')]);
    const open = await flag('new', null);
    await client.query("UPDATE flags SET created_at = now() - interval '3000 days' WHERE id = $1", [open.id]);

    // The original of a copy that failed for good, kept past the flag's period (stored_at aged).
    const stranded = await flag('new', null);
    const [delivery] = await store.deliveries({ flagId: stranded.id });
    await client.query("UPDATE deliveries SET status = 'failed' WHERE id = $1", [delivery!.id]);
    await client.query('INSERT INTO copy_originals (flag_id, sealed) VALUES ($1, $2)', [stranded.id, Buffer.from('sealed')]);
    await olderThan('copy_originals', 'stored_at', 2200, 'flag_id = $1', [stranded.id]);

    // Clean mail's keys: one past scannedKeysDays, one not.
    await store.recordScan('clean-old', occurrence('c', 'INBOX', 1), await cleanReport('clean-old'));
    await store.recordScan('clean-new', occurrence('c', 'INBOX', 2), await cleanReport('clean-new'));
    await olderThan('messages', 'scanned_at', 401, 'message_key = $1', ['clean-old']);

    await store.recordFailure('failed-old', occurrence('c', 'INBOX', 3), 'time limit');
    await store.recordFailure('failed-new', occurrence('c', 'INBOX', 4), 'time limit');
    await olderThan('scan_failures', 'failed_at', 91, 'message_key = $1', ['failed-old']);

    await client.query("INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES ('old', $1, 't', now() - interval '1 hour'), ('live', $1, 't', now() + interval '1 hour')", [userId]);

    // Messages kept under an authorisation that ended 31 days ago, and under one still running.
    const auth = async (endedDaysAgo: number): Promise<number> => {
      const { rows } = await client.query<{ id: unknown }>(
        `INSERT INTO authorisations (account, reason, approver, pia_reference, starts_at, ends_at) VALUES ('k@oakfield.sch.uk', 'r', 'a', 'p', now() - interval '60 days', now() - $1 * interval '1 day') RETURNING id`,
        [endedDaysAgo],
      );
      const id = toNumber(rows[0]!.id);
      // Written directly: the store keeps messages only while an authorisation is in force.
      await client.query("INSERT INTO retained_messages (authorisation_id, message_key, direction, sealed) VALUES ($1, $2, 'internal', $3)", [id, `kept-${id}`, sealRetained(Buffer.from('x'), Buffer.alloc(32), id, `kept-${id}`)]);
      return id;
    };
    const endedLongAgo = await auth(31);
    await auth(-5);

    // Digests: an old finished one, and the route's newest (always kept).
    await client.query("INSERT INTO digests (route, period_start, period_end, flag_count) VALUES ('dpo', now() - interval '500 days', now() - interval '499 days', 3), ('dpo', now() - interval '1 day', now(), 1)");

    // Suppressions: revoked 31 days ago, expired 31 days ago (both past falsePositiveDays), expired 5 days ago (kept).
    const suppression = (revokedDaysAgo: number | null, expiredDaysAgo: number): Promise<unknown> =>
      client.query(
        `INSERT INTO suppressions (rule, phrase, reason, created_at, expires_at, revoked_at)
         VALUES ('r', 'p', 'why', now() - interval '400 days', now() - $1 * interval '1 day', now() - $2 * interval '1 day')`,
        [expiredDaysAgo, revokedDaysAgo],
      );
    await suppression(31, -100);
    await suppression(null, 31);
    await suppression(null, 5);
    // An authorisation ended longer ago than auditDays goes, its record with it; one inside auditDays stays.
    const endedBeyondAudit = await client.query<{ id: unknown }>(
      `INSERT INTO authorisations (account, reason, approver, pia_reference, starts_at, ends_at) VALUES ('k@oakfield.sch.uk', 'r', 'a', 'p', now() - interval '2300 days', now() - interval '2191 days') RETURNING id`,
    );

    // Old audit rows: a flag that is kept keeps its history; a purged flag's and other old rows go.
    await client.query(
      `INSERT INTO audit_log (at, actor, action, target) VALUES (now() - interval '2191 days', 'mon', 'flag.view', NULL), (now() - interval '10 days', 'mon', 'flag.view', NULL),
       (now() - interval '2191 days', 'mon', 'flag.view', $1), (now() - interval '2191 days', 'mon', 'flag.view', $2), (now() - interval '2191 days', 'mon', 'flag.view', 'flag:x1')`,
      [`flag:${open.id}`, `flag:${expired.id}`],
    );

    const expected: PurgeCounts = {
      flags: 2,
      findings: await count('SELECT count(*) AS n FROM findings WHERE flag_id = ANY($1::bigint[])', [[expired.id, falsePositive.id]]),
      occurrences: 2,
      reviews: 2,
      deliveries: 2,
      copyOriginals: 1,
      digests: 1,
      retainedMessages: 1,
      messageKeys: 1,
      scanFailures: 1,
      sessions: 1,
      suppressions: 2,
      authorisations: 1,
      auditRows: 3,
    };
    expect(expected.findings).toBeGreaterThan(0);

    const overdue = await store.overdueFlags(policy, new Date());
    expect(overdue.count).toBe(1);
    expect(overdue.oldestCreatedAt).toBeInstanceOf(Date);

    const before = await count('SELECT count(*) AS n FROM flags');
    expect(await store.purge(policy, { dryRun: true })).toEqual(expected);
    expect(await count('SELECT count(*) AS n FROM flags')).toBe(before);
    expect(await store.purges()).toEqual([]);

    expect(await store.purge(policy, { actor: 'kestrel' })).toEqual(expected);
    const remaining = (await client.query<{ id: unknown }>('SELECT id FROM flags')).rows.map((r) => toNumber(r.id));
    expect(remaining).toEqual(expect.arrayContaining([kept.id, recentFalsePositive.id, open.id, stranded.id, ...inFlight.map((f) => f.id)]));
    for (const f of inFlight) {
      expect(await store.sealedOriginal(f.id)).not.toBeNull();
      expect(await store.deliveries({ flagId: f.id })).toHaveLength(1);
    }
    expect(remaining).not.toContain(expired.id);
    expect(remaining).not.toContain(falsePositive.id);
    expect(await store.sealedOriginal(stranded.id)).toBeNull();
    // A purged flag's key stays, without its flag, so a resynced mailbox does not flag it again.
    expect(await store.priorScan(expired.key)).toEqual({ flagId: null });
    expect(await store.priorScan('clean-old')).toBeNull();
    expect(await store.priorScan('clean-new')).toEqual({ flagId: null });
    expect((await store.scanFailures()).map((f) => f.messageKey)).toEqual(['failed-new']);
    expect(await count("SELECT count(*) AS n FROM sessions WHERE id_hash = 'old'")).toBe(0);
    expect(await count('SELECT count(*) AS n FROM retained_messages WHERE authorisation_id = $1', [endedLongAgo])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM retained_messages')).toBe(1);
    expect(await count("SELECT count(*) AS n FROM digests WHERE route = 'dpo'")).toBe(1);

    const [record] = await store.purges();
    expect(record).toMatchObject({ actor: 'kestrel', counts: expected });
    const audit = await client.query<{ actor: string; target: string; details: { counts: PurgeCounts } }>("SELECT actor, target, details FROM audit_log WHERE action = 'purge.run'");
    expect(audit.rows).toEqual([{ actor: 'kestrel', target: `purge:${record!.id}`, details: { counts: expected } }]);
    expect((await client.query<{ target: string | null }>("SELECT target FROM audit_log WHERE action = 'flag.view' ORDER BY id")).rows.map((r) => r.target)).toEqual([null, `flag:${open.id}`]);
    expect(await count('SELECT count(*) AS n FROM suppressions')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM authorisations WHERE id = $1', [toNumber(endedBeyondAudit.rows[0]!.id)])).toBe(0);
    expect(await count('SELECT count(*) AS n FROM authorisations')).toBe(2);
    // The audit log is append-only again outside the purge's transaction.
    await expect(client.query("DELETE FROM audit_log WHERE action = 'flag.view'")).rejects.toThrow(/append-only/);

    // Nothing left to do; and the daily schedule's run is skipped once a purge ran since it fell due.
    const nothing = await store.purge(policy);
    expect(Object.values(nothing!).every((v) => v === 0)).toBe(true);
    expect(await store.purge(policy, { unlessRanSince: new Date(Date.now() - 60_000) })).toBeNull();
    expect(await store.purges()).toHaveLength(2);
  });

  it("keeps a group outcome's audit row while any flag it changed is kept, whichever id is lowest", async () => {
    const gone = await flag('actioned', 2191);
    const kept = await flag('actioned', 100);
    const group = (ids: number[]): Promise<unknown> =>
      client.query(`INSERT INTO audit_log (at, actor, action, target, details) VALUES (now() - interval '2191 days', 'mon', 'group.outcome', $1, $2::jsonb)`, [
        `flag:${Math.min(...ids)}`,
        JSON.stringify({ ids, status: 'actioned', escalatedTo: [] }),
      ]);
    await group([gone.id, kept.id]);
    await group([gone.id]);
    await store.purge(policy);
    const rows = await client.query<{ details: { ids: number[] } }>("SELECT details FROM audit_log WHERE action = 'group.outcome'");
    expect(rows.rows.map((r) => r.details.ids)).toEqual([[gone.id, kept.id]]);
  });
});

/**
 * A reviewer or an operator acting while the purge runs, on PostgreSQL (PGlite has one connection).
 * Their change is made and held uncommitted in another session while the purge starts; it commits
 * once the purge is waiting on it (or has finished, if it never waits).
 */
describe('the purge beside concurrent changes on PostgreSQL', () => {
  let backend: Awaited<ReturnType<typeof postgresBackend>>;
  let client: SqlClient;
  let store: SqlFlagStore;
  let other: pg.Client;
  let n = 0;

  beforeAll(async () => {
    backend = await postgresBackend();
    const db = await backend.fresh();
    client = db.client;
    store = createSqlFlagStore(client, silent);
    await store.migrate();
    other = new pg.Client({ connectionString: db.url });
    await other.connect();
  });

  afterAll(async () => {
    await other?.end();
    await store?.close();
    await backend?.stop();
  });

  async function closedFlag(delivery: string): Promise<number> {
    const key = `race-${++n}`;
    const result = await store.recordScan(key, occurrence(key, 'INBOX', n), await flaggedReport(key), {
      deliveries: [{ recipient: 'monitor@oakfield.sch.uk', routes: ['monitor'], form: 'full', messageId: `<copy-${key}@oakfield.sch.uk>` }],
    });
    const id = result.flagId!;
    await client.query('UPDATE deliveries SET status = $2 WHERE flag_id = $1', [id, delivery]);
    await client.query('INSERT INTO copy_originals (flag_id, sealed) VALUES ($1, $2)', [id, Buffer.from('sealed')]);
    await client.query("UPDATE copy_originals SET stored_at = now() - interval '2200 days' WHERE flag_id = $1", [id]);
    return id;
  }

  /**
   * Runs the purge while `change` is held open in the other session; once the purge waits on a lock
   * or ends, runs `then` in that session (the rest of its transaction) and commits.
   */
  async function purgeDuring(change: (tx: pg.Client) => Promise<unknown>, then?: () => Promise<unknown>, options: PurgeOptions = {}): Promise<{ waited: boolean; counts: PurgeCounts | null }> {
    await other.query('BEGIN');
    await change(other);
    let settled = false;
    let waited = false;
    const purge = store.purge(policy, options).finally(() => (settled = true));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const waiting = await other.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      waited = Number(waiting.rows[0].n) > 0;
      if (settled || waited || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    try {
      await then?.();
      await other.query('COMMIT');
    } catch (error) {
      await other.query('ROLLBACK');
      throw error;
    }
    return { waited, counts: await purge };
  }

  /** The other session, in its open transaction, as a store client (the delivery store's acknowledge joins it). */
  const inOther = (): SqlClient => ({
    description: 'other session',
    query: async (text, params = []) => {
      const result = await other.query(text, [...params]);
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    },
    exec: async (script) => {
      await other.query(script);
    },
    transaction: (work) => work(inOther()),
    close: async () => {},
  });

  it('keeps a flag a reviewer reopens while the purge runs', async () => {
    const id = await closedFlag('sent');
    await client.query("UPDATE flags SET status = 'actioned', closed_at = now() - interval '2191 days' WHERE id = $1", [id]);
    await purgeDuring((tx) => tx.query("UPDATE flags SET status = 'in_review', closed_at = NULL WHERE id = $1", [id]));
    expect((await client.query('SELECT id FROM flags WHERE id = $1', [id])).rows).toHaveLength(1);
  });

  it('keeps the original of a failed copy an operator retries while the purge runs', async () => {
    const id = await closedFlag('failed');
    const [delivery] = await store.deliveries({ flagId: id });
    await purgeDuring((tx) => tx.query("UPDATE deliveries SET status = 'pending' WHERE id = $1 AND status = 'failed'", [delivery!.id]));
    expect(await store.sealedOriginal(id)).not.toBeNull();
    // Once it failed again, and the retry is over, the purge takes it.
    await client.query("UPDATE deliveries SET status = 'failed' WHERE id = $1", [delivery!.id]);
    expect((await store.purge(policy))!.copyOriginals).toBe(1);
  });

  it('does not deadlock with an outcome that acknowledges a flag whose only failed copy is an escalation step', async () => {
    // Open and urgent; its one copy is an escalation step that failed; its original is past the flag's period.
    const id = await closedFlag('failed');
    await client.query('UPDATE deliveries SET escalation_step = 1 WHERE flag_id = $1', [id]);
    // The outcome holds the flag (recordOutcome's lock), then acknowledges: its failed escalation copy is cancelled and the original released.
    const { counts } = await purgeDuring(
      (tx) => tx.query('SELECT id FROM flags WHERE id = $1 FOR UPDATE', [id]),
      () => createDeliveryStore(inOther()).acknowledge(id, 'mon'),
    );
    expect(counts!.copyOriginals).toBe(0);
    expect(await store.sealedOriginal(id)).toBeNull();
    expect((await store.deliveries({ flagId: id }))[0]!.status).toBe('cancelled');
  });

  it('neither waits on nor locks a closed flag still inside its period, in a run or a dry run', async () => {
    const id = await closedFlag('sent');
    // Self-harm (2190 days), closed 100 days ago: past the shortest period, not its own.
    await client.query("UPDATE flags SET status = 'actioned', closed_at = now() - interval '100 days' WHERE id = $1", [id]);
    for (const dryRun of [true, false]) {
      const { waited } = await purgeDuring((tx) => tx.query('SELECT id FROM flags WHERE id = $1 FOR UPDATE NOWAIT', [id]), undefined, { dryRun });
      expect(waited).toBe(false);
    }
    expect((await client.query('SELECT id FROM flags WHERE id = $1', [id])).rows).toHaveLength(1);
  });

  it('skips an expired flag a reviewer holds, and purges it on the next run', async () => {
    const id = await closedFlag('sent');
    await client.query("UPDATE flags SET status = 'actioned', closed_at = now() - interval '2191 days' WHERE id = $1", [id]);
    const { waited, counts } = await purgeDuring((tx) => tx.query('SELECT id FROM flags WHERE id = $1 FOR UPDATE', [id]));
    expect(waited).toBe(false);
    expect(counts!.flags).toBe(0);
    expect((await store.purge(policy))!.flags).toBe(1);
  });
});
