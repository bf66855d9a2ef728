/** openFlagStore as a process starts it: PGlite under dataDir, or PostgreSQL shared by several processes. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/flags/migrations.js';
import { openFlagStore, pgliteDir } from '../../src/flags/open.js';
import { openPostgres } from '../../src/flags/sql.js';
import { createSqlFlagStore } from '../../src/flags/store.js';
import { freePort } from '../harness/redis.js';
import { flaggedReport, occurrence, postgresBackend, silent } from './support.js';

describe('openFlagStore with PGlite', () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = join(mkdtempSync(join(tmpdir(), 'kestrel-open-')), 'data', 'nested');
  });

  afterAll(() => rmSync(join(dataDir, '..', '..'), { recursive: true, force: true }));

  it('creates the data dir, migrates, and keeps flags and checkpoints across a restart', async () => {
    const report = await flaggedReport('persist');
    const first = await openFlagStore({ dataDir }, silent);
    let flagId: number | null;
    try {
      expect(existsSync(pgliteDir(dataDir))).toBe(true);
      ({ flagId } = await first.recordScan('persist', occurrence('persist', 'INBOX', 4), report));
      await first.advanceCheckpoint('persist', 'INBOX', { uidValidity: '9', lastUid: 4 });
    } finally {
      await first.close();
    }

    const second = await openFlagStore({ dataDir }, silent);
    try {
      expect(await second.priorScan('persist')).toEqual({ flagId });
      expect((await second.flag(flagId!))!.report).toEqual(report);
      expect(await second.checkpoint('persist', 'INBOX')).toEqual({ uidValidity: '9', lastUid: 4 });
    } finally {
      await second.close();
    }
  });

  it('refuses a second store on the same dir while the first is open', async () => {
    const first = await openFlagStore({ dataDir }, silent);
    try {
      await expect(openFlagStore({ dataDir }, silent)).rejects.toThrow(`the embedded database in ${pgliteDir(dataDir)} is already open in this process`);
    } finally {
      await first.close();
    }
  });

  it('refuses a dir locked by another live process, and takes over a dead one\'s lock', async () => {
    const lockFile = `${pgliteDir(dataDir)}.lock`;
    // PID 1 is always alive; a pid above the kernel's maximum never is.
    writeFileSync(lockFile, '1\n');
    await expect(openFlagStore({ dataDir }, silent)).rejects.toThrow(/in use by process 1 .*use PostgreSQL \(store\.url\) to share the store/);
    writeFileSync(lockFile, '99999999\n');
    const store = await openFlagStore({ dataDir }, silent);
    await store.close();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('wants an absolute dataDir', async () => {
    await expect(openFlagStore({ dataDir: './data' }, silent)).rejects.toThrow('store.dataDir must be an absolute path once loaded, got "./data"');
  });
});

describe('openFlagStore with PostgreSQL', () => {
  let backend: Awaited<ReturnType<typeof postgresBackend>>;

  beforeAll(async () => {
    backend = await postgresBackend();
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it('migrates once when several processes start together', async () => {
    const { client, url } = await backend.fresh();
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openFlagStore({ dataDir: '/unused', url: url! }, silent)));
      await Promise.all(stores.map((s) => s.close()));
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await client.close();
    }
  });

  it('works through one pool when two stores share a database', async () => {
    const { client, url } = await backend.fresh();
    const a = await openFlagStore({ dataDir: '/unused', url: url! }, silent);
    const b = createSqlFlagStore(openPostgres(url!, silent), silent);
    try {
      await a.advanceCheckpoint('shared', 'INBOX', { uidValidity: '1', lastUid: 10 });
      expect(await b.checkpoint('shared', 'INBOX')).toEqual({ uidValidity: '1', lastUid: 10 });
    } finally {
      await Promise.all([a.close(), b.close(), client.close()]);
    }
  });

  it('survives the server ending a connection mid-transaction, naming the server', async () => {
    const { client, url } = await backend.fresh();
    const admin = openPostgres(url!, silent);
    try {
      const failed = client.transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        // The server's notice of termination arrives while no query runs on this connection.
        await new Promise((r) => setTimeout(r, 200));
        await tx.query('SELECT 1');
      });
      await expect(failed).rejects.toThrow(`lost the connection to PostgreSQL at 127.0.0.1:${backend.server.port}/`);
      const { rows } = await client.query<{ ok: number }>('SELECT 1 AS ok');
      expect(rows).toEqual([{ ok: 1 }]);
    } finally {
      await Promise.all([client.close(), admin.close()]);
    }
  });

  it('names the server, never the password, when it cannot connect', async () => {
    const wrongUser = backend.server.url.replace('postgres@', 'kestrel:hunter2-secret@');
    const refusal = openFlagStore({ dataDir: '/unused', url: wrongUser }, silent);
    await expect(refusal).rejects.toThrow(`cannot connect to PostgreSQL at 127.0.0.1:${backend.server.port}/postgres: role "kestrel" does not exist`);
    await expect(refusal).rejects.not.toThrow(/hunter2/);

    const closed = await freePort();
    await expect(openFlagStore({ dataDir: '/unused', url: `postgres://kestrel:hunter2-secret@127.0.0.1:${closed}/kestrel` }, silent)).rejects.toThrow(
      `cannot connect to PostgreSQL at 127.0.0.1:${closed}/kestrel: connect ECONNREFUSED`,
    );
  });
});
