/**
 * The audit log on PGlite and PostgreSQL: rows go in and come back newest first with filters and
 * paging, and the database itself refuses to change or remove them outside the retention purge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditInput } from '../../src/flags/review-types.js';
import type { SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { type Backend, pgliteBackend, postgresBackend, silent } from './support.js';

function entry(overrides: Partial<AuditInput> = {}): AuditInput {
  return { actorId: 7, actor: 'jmonitor', role: 'monitor', action: 'flag.view', target: 'flag:1', details: {}, ip: '127.0.0.1', ...overrides };
}

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('the audit log on $name', ({ start }) => {
  let backend: Backend;
  let client: SqlClient;
  let store: SqlFlagStore;

  beforeAll(async () => {
    backend = await start();
    client = (await backend.fresh()).client;
    store = createSqlFlagStore(client, silent);
    await store.migrate();
  });

  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  it('appends a row and returns it with its id and time', async () => {
    const before = Date.now();
    const row = await store.appendAudit(entry({ action: 'flag.export.pdf', target: 'flag:12', details: { format: 'pdf', ids: [12, 13] } }));
    expect(row).toMatchObject({ actorId: 7, actor: 'jmonitor', role: 'monitor', action: 'flag.export.pdf', target: 'flag:12', details: { format: 'pdf', ids: [12, 13] }, ip: '127.0.0.1' });
    expect(row.id).toBeGreaterThan(0);
    expect(row.at.getTime()).toBeGreaterThanOrEqual(before - 5_000);
    const system = await store.appendAudit({ actorId: null, actor: 'kestrel', role: null, action: 'purge.run', target: null, details: { flags: 3 }, ip: null });
    expect(system).toMatchObject({ actorId: null, role: null, target: null, ip: null });
    // A NUL typed into a filter must not cost the row (PostgreSQL refuses NUL in jsonb).
    const nul = await store.appendAudit(entry({ action: 'flags.search', target: null, details: { sender: 'a\u0000b' } }));
    expect(nul.details).toEqual({ sender: 'a\uFFFDb' });
  });

  it('refuses an entry without an actor or with an action that is not a dotted verb', async () => {
    await expect(store.appendAudit(entry({ actor: '' }))).rejects.toThrow(/actor/);
    await expect(store.appendAudit(entry({ action: 'Flag View' }))).rejects.toThrow(/action/);
  });

  it('lists newest first, filtered by actor, action, target and time, in pages', async () => {
    const mark = await store.appendAudit(entry({ action: 'test.mark', target: null }));
    const since = mark.at;
    for (let i = 1; i <= 5; i++) await store.appendAudit(entry({ actorId: 40, actor: 'adsl', role: 'dsl', action: 'test.page', target: `flag:${100 + i}` }));
    await store.appendAudit(entry({ actorId: 41, actor: 'adpo', role: 'dpo', action: 'test.page', target: 'flag:101' }));

    const all = await store.auditEntries({ action: 'test.page' }, { offset: 0, limit: 50 });
    expect(all.total).toBe(6);
    expect(all.items.map((e) => e.actor)).toEqual(['adpo', 'adsl', 'adsl', 'adsl', 'adsl', 'adsl']);
    expect(all.items.map((e) => e.target).slice(1)).toEqual(['flag:105', 'flag:104', 'flag:103', 'flag:102', 'flag:101']);

    const first = await store.auditEntries({ actorId: 40 }, { offset: 0, limit: 2 });
    const second = await store.auditEntries({ actorId: 40 }, { offset: 2, limit: 2 });
    const third = await store.auditEntries({ actorId: 40 }, { offset: 4, limit: 2 });
    expect(first.total).toBe(5);
    expect([...first.items, ...second.items, ...third.items].map((e) => e.target)).toEqual(['flag:105', 'flag:104', 'flag:103', 'flag:102', 'flag:101']);

    expect((await store.auditEntries({ target: 'flag:101' }, { offset: 0, limit: 50 })).items.map((e) => e.actor)).toEqual(['adpo', 'adsl']);
    expect((await store.auditEntries({ action: 'test.page', target: 'flag:101', actorId: 41 }, { offset: 0, limit: 50 })).total).toBe(1);
    expect((await store.auditEntries({ since }, { offset: 0, limit: 50 })).total).toBe(7);
    expect((await store.auditEntries({ since, until: since }, { offset: 0, limit: 50 })).total).toBe(0);
    expect((await store.auditEntries({ until: since }, { offset: 0, limit: 50 })).items.every((e) => e.at < since)).toBe(true);
  });

  it('refuses pages that would turn the list into an export', async () => {
    await expect(store.auditEntries({}, { offset: 0, limit: 201 })).rejects.toThrow(/limit/);
    await expect(store.auditEntries({}, { offset: -1, limit: 10 })).rejects.toThrow(/offset/);
  });

  it('refuses UPDATE, DELETE and TRUNCATE; the purge may DELETE in a transaction that says so', async () => {
    const row = await store.appendAudit(entry({ action: 'test.tamper' }));
    await expect(client.query('UPDATE audit_log SET actor = $2 WHERE id = $1', [row.id, 'someone'])).rejects.toThrow(/append-only/);
    await expect(client.query('DELETE FROM audit_log WHERE id = $1', [row.id])).rejects.toThrow(/append-only/);
    await expect(client.query('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    // The setting lasts for its own transaction only: a later plain DELETE is refused again.
    await expect(
      client.transaction(async (tx) => {
        await tx.query(`SELECT set_config('kestrel.audit_purge', 'on', true)`);
        await tx.query('UPDATE audit_log SET actor = $2 WHERE id = $1', [row.id, 'someone']);
      }),
    ).rejects.toThrow(/append-only/);
    await client.transaction(async (tx) => {
      await tx.query(`SELECT set_config('kestrel.audit_purge', 'on', true)`);
      await tx.query('DELETE FROM audit_log WHERE id = $1', [row.id]);
    });
    expect((await store.auditEntries({ action: 'test.tamper' }, { offset: 0, limit: 10 })).total).toBe(0);
    const kept = await store.appendAudit(entry({ action: 'test.tamper' }));
    await expect(client.query('DELETE FROM audit_log WHERE id = $1', [kept.id])).rejects.toThrow(/append-only/);
    expect((await store.auditEntries({ action: 'test.tamper' }, { offset: 0, limit: 10 })).total).toBe(1);
  });
});
