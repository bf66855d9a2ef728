/**
 * The retention purge on PGlite and PostgreSQL. Rows are aged by moving their timestamps back; the
 * audit log refuses updates, so its old rows are written with an old `at`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retentionSchema } from '../../src/config/retention-schema.js';
import { sealRetained } from '../../src/flags/authorisations.js';
import { categoryDays, flagDays, type PurgeCounts } from '../../src/flags/retention.js';
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

  /** A flag (urgent self-harm: safety.*, 2190 days) with a delivery and an outcome. */
  async function flag(status: 'new' | 'actioned' | 'false_positive', closedDaysAgo: number | null): Promise<{ id: number; key: string }> {
    const key = `purge-${++n}`;
    const result = await store.recordScan(key, occurrence(key, 'INBOX', n), await flaggedReport(key), {
      deliveries: [{ recipient: 'monitor@oakfield.sch.uk', routes: ['monitor'], form: 'full', messageId: `<copy-${key}@oakfield.sch.uk>` }],
    });
    const id = result.flagId!;
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
      await store.retainMessage({ authorisationId: id, messageKey: `kept-${id}`, flagId: null, direction: 'internal', messageDate: null, sealed: sealRetained(Buffer.from('x'), Buffer.alloc(32), id, `kept-${id}`) });
      return id;
    };
    const endedLongAgo = await auth(31);
    await auth(-5);

    // Digests: an old finished one, and the route's newest (always kept).
    await client.query("INSERT INTO digests (route, period_start, period_end, flag_count) VALUES ('dpo', now() - interval '500 days', now() - interval '499 days', 3), ('dpo', now() - interval '1 day', now(), 1)");

    await client.query("INSERT INTO audit_log (at, actor, action) VALUES (now() - interval '2191 days', 'mon', 'flag.view'), (now() - interval '10 days', 'mon', 'flag.view')");

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
      auditRows: 1,
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
    expect(remaining).toEqual(expect.arrayContaining([kept.id, recentFalsePositive.id, open.id, stranded.id]));
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
    expect(await count("SELECT count(*) AS n FROM audit_log WHERE action = 'flag.view'")).toBe(1);
    // The audit log is append-only again outside the purge's transaction.
    await expect(client.query("DELETE FROM audit_log WHERE action = 'flag.view'")).rejects.toThrow(/append-only/);

    // Nothing left to do; and the daily schedule's run is skipped once a purge ran since it fell due.
    const nothing = await store.purge(policy);
    expect(Object.values(nothing!).every((v) => v === 0)).toBe(true);
    expect(await store.purge(policy, { unlessRanSince: new Date(Date.now() - 60_000) })).toBeNull();
    expect(await store.purges()).toHaveLength(2);
  });
});
