/**
 * One suite, run against embedded PGlite and a real PostgreSQL: the same SQL must behave the same
 * on both. Most tests share one migrated database and keep apart by their own keys and accounts;
 * tests about schema history get a fresh database each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS, SchemaTooNewError, type Migration } from '../../src/flags/migrations.js';
import { openPostgres, type SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import type { ScanReport } from '../../src/scan/pipeline.js';
import type { SpreadCandidate } from '../../src/scan/spread/stage.js';
import { type Backend, cleanReport, type Database, flaggedReport, mail, occurrence, pgliteBackend, postgresBackend, sharedScanner, silent } from './support.js';

const FUTURE: Migration = { version: MIGRATIONS.at(-1)!.version + 1, name: 'from a newer Kestrel', sql: 'CREATE TABLE from_the_future (id integer)' };

async function count(client: SqlClient, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await client.query<{ n: unknown }>(sql, params);
  return Number(rows[0]!.n);
}

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('flag store on $name', ({ start }) => {
  let backend: Backend;
  let shared: Database;
  let client: SqlClient;
  let store: SqlFlagStore;

  beforeAll(async () => {
    backend = await start();
    shared = await backend.fresh();
    client = shared.client;
    store = createSqlFlagStore(client, silent);
    await store.migrate();
  });

  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  describe('migrations', () => {
    it('apply once: running migrate again changes nothing', async () => {
      await store.migrate();
      await store.migrate();
      const { rows } = await client.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
      expect(rows).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
    });

    it('are numbered in order with no repeats', () => {
      const versions = MIGRATIONS.map((m) => m.version);
      expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
      expect(versions[0]).toBe(1);
    });

    it('refuse a database a newer Kestrel migrated, and leave it untouched', async () => {
      const { client: newer } = await backend.fresh();
      try {
        await migrate(newer, silent, [...MIGRATIONS, FUTURE]);
        const old = createSqlFlagStore(newer, silent);
        const refusal = old.migrate();
        await expect(refusal).rejects.toBeInstanceOf(SchemaTooNewError);
        await expect(refusal).rejects.toThrow(`schema version ${FUTURE.version}, newer than this Kestrel knows (${FUTURE.version - 1})`);
        expect(await count(newer, 'SELECT max(version) AS n FROM schema_migrations')).toBe(FUTURE.version);
      } finally {
        await newer.close();
      }
    });

    it('roll back a migration that fails, so the next start tries it again', async () => {
      const { client: fresh } = await backend.fresh();
      try {
        const broken: Migration = { version: FUTURE.version, name: 'broken', sql: 'CREATE TABLE half_done (id integer); SELECT no_such_function()' };
        await expect(migrate(fresh, silent, [...MIGRATIONS, broken])).rejects.toThrow(`flag store migration ${FUTURE.version} (broken) failed`);
        expect(await count(fresh, 'SELECT max(version) AS n FROM schema_migrations')).toBe(MIGRATIONS.at(-1)!.version);
        expect(await count(fresh, "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'half_done'")).toBe(0);
        await migrate(fresh, silent, [...MIGRATIONS, FUTURE]);
        expect(await count(fresh, 'SELECT max(version) AS n FROM schema_migrations')).toBe(FUTURE.version);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('checkpoints', () => {
    it('start empty and keep account and folder apart', async () => {
      expect(await store.checkpoint('cp-apart', 'INBOX')).toBeNull();
      await store.advanceCheckpoint('cp-apart', 'INBOX', { uidValidity: '11', lastUid: 40 });
      await store.advanceCheckpoint('cp-apart', 'Sent', { uidValidity: '12', lastUid: 7, highestModseq: '900' });
      await store.advanceCheckpoint('cp-apart-2', 'INBOX', { uidValidity: '11', lastUid: 3 });
      expect(await store.checkpoint('cp-apart', 'INBOX')).toEqual({ uidValidity: '11', lastUid: 40 });
      expect(await store.checkpoint('cp-apart', 'Sent')).toEqual({ uidValidity: '12', lastUid: 7, highestModseq: '900' });
      expect(await store.checkpoint('cp-apart-2', 'INBOX')).toEqual({ uidValidity: '11', lastUid: 3 });
      expect(await store.checkpoint('cp-apart-2', 'Sent')).toBeNull();
    });

    it('never move backwards within one UIDVALIDITY', async () => {
      await store.advanceCheckpoint('cp-back', 'INBOX', { uidValidity: '5', lastUid: 100, highestModseq: '5000' });
      await store.advanceCheckpoint('cp-back', 'INBOX', { uidValidity: '5', lastUid: 60, highestModseq: '9000' });
      expect(await store.checkpoint('cp-back', 'INBOX')).toEqual({ uidValidity: '5', lastUid: 100, highestModseq: '5000' });
      // The same UID again (a poll that found nothing new) may carry a newer HIGHESTMODSEQ, never an older one.
      await store.advanceCheckpoint('cp-back', 'INBOX', { uidValidity: '5', lastUid: 100, highestModseq: '5100' });
      await store.advanceCheckpoint('cp-back', 'INBOX', { uidValidity: '5', lastUid: 100, highestModseq: '4000' });
      expect(await store.checkpoint('cp-back', 'INBOX')).toEqual({ uidValidity: '5', lastUid: 100, highestModseq: '5100' });
      await store.advanceCheckpoint('cp-back', 'INBOX', { uidValidity: '5', lastUid: 130 });
      expect(await store.checkpoint('cp-back', 'INBOX')).toEqual({ uidValidity: '5', lastUid: 130, highestModseq: '5100' });
    });

    it('start a new epoch when UIDVALIDITY changes, even at a lower UID', async () => {
      await store.advanceCheckpoint('cp-epoch', 'INBOX', { uidValidity: '1000', lastUid: 900, highestModseq: '77' });
      await store.advanceCheckpoint('cp-epoch', 'INBOX', { uidValidity: '2000', lastUid: 4 });
      expect(await store.checkpoint('cp-epoch', 'INBOX')).toEqual({ uidValidity: '2000', lastUid: 4 });
      await store.advanceCheckpoint('cp-epoch', 'INBOX', { uidValidity: '2000', lastUid: 2 });
      expect(await store.checkpoint('cp-epoch', 'INBOX')).toEqual({ uidValidity: '2000', lastUid: 4 });
    });

    it('hold the largest UID, UIDVALIDITY and HIGHESTMODSEQ IMAP allows', async () => {
      const largest = { uidValidity: '4294967295', lastUid: 4294967295, highestModseq: '9223372036854775807' };
      await store.advanceCheckpoint('cp-large', 'INBOX', largest);
      expect(await store.checkpoint('cp-large', 'INBOX')).toEqual(largest);
    });

    it('reject a UID that is not a whole number, naming the mailbox', async () => {
      await expect(store.advanceCheckpoint('cp-bad', 'INBOX', { uidValidity: '1', lastUid: 1.5 })).rejects.toThrow('invalid checkpoint UID 1.5 for cp-bad INBOX');
    });
  });

  describe('recordScan', () => {
    it('keeps only the key of a clean message', async () => {
      const key = `${backend.name}-clean`;
      expect(await store.priorScan(key)).toBeNull();
      const flagsBefore = await count(client, 'SELECT count(*) AS n FROM flags');
      expect(await store.recordScan(key, occurrence('clean', 'INBOX', 1), await cleanReport('clean'))).toEqual({ flagId: null, created: true, deliveries: [] });
      expect(await store.priorScan(key)).toEqual({ flagId: null });
      expect(await store.recordScan(key, occurrence('clean-2', 'INBOX', 9), await cleanReport('clean'))).toEqual({ flagId: null, created: false, deliveries: [] });
      expect(await count(client, 'SELECT count(*) AS n FROM flags')).toBe(flagsBefore);
      expect(await count(client, "SELECT count(*) AS n FROM occurrences WHERE account LIKE 'clean%'")).toBe(0);
      const { rows } = await client.query('SELECT * FROM messages WHERE message_key = $1', [key]);
      expect(Object.keys(rows[0]!).sort()).toEqual(['flag_id', 'message_key', 'scanned_at']);
      expect(rows[0]!.flag_id).toBeNull();
    });

    it('stores a flagged report whole: findings in order, evidence, parties, and where it was seen', async () => {
      const key = `${backend.name}-flagged`;
      const report = await flaggedReport('flagged');
      const seen = occurrence('22lmorgan', 'Sent', 31);
      const result = await store.recordScan(key, seen, report);
      expect(result.created).toBe(true);
      expect(result.flagId).toEqual(expect.any(Number));
      expect(await store.priorScan(key)).toEqual({ flagId: result.flagId });

      const stored = await store.flag(result.flagId!);
      expect(stored).not.toBeNull();
      expect(stored!.messageKey).toBe(key);
      expect(stored!.report).toEqual(report);
      expect(stored!.report.findings.map((f) => f.rule)).toEqual(report.findings.map((f) => f.rule));
      expect(stored!.report.findings[0]!.evidence[0]!.match).toBe('kill myself');
      expect(stored!.report.from).toEqual({ address: '22lmorgan@pupils.oakfield.sch.uk', role: 'pupil', academy: 'Oakfield Primary' });
      expect(stored!.occurrences).toEqual([seen]);
    });

    it('records a flag whose evidence and Message-ID hold a NUL character (PostgreSQL refuses NUL in text)', async () => {
      const raw = Buffer.from(
        mail('nul\u0000id', 'x').toString('utf8').replace(/Content-Type: text\/plain; charset=utf-8\r?\n\r?\nx/, 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ni just want to kill myself tonight=00 nobody would miss me'),
      );
      const report = await sharedScanner().scan(raw);
      expect(report.flagged).toBe(true);
      expect(JSON.stringify(report)).toContain('\\u0000');
      const { flagId } = await store.recordScan(`${backend.name}-nul`, occurrence('nul', 'INBOX', 1), report);
      const stored = await store.flag(flagId!);
      expect(JSON.stringify(stored!.report)).not.toContain('\\u0000');
      expect(stored!.report.findings.some((f) => f.evidence.some((e) => e.excerpt.includes('\uFFFD')))).toBe(true);
    });

    it('never stores the spread candidate', async () => {
      const spread: SpreadCandidate = { fingerprints: ['secret-fingerprint'], sender: 'secret-sender', pending: [], score: 0.4, threshold: 0.5, subject: 'secret subject', recipients: [] };
      const report: ScanReport = { ...(await flaggedReport('spread')), spread };
      const { flagId } = await store.recordScan(`${backend.name}-spread`, occurrence('spread', 'INBOX', 1), report);
      const stored = await store.flag(flagId!);
      expect(stored!.report).not.toHaveProperty('spread');
      expect(JSON.stringify(stored)).not.toContain('secret');
      expect(await count(client, "SELECT count(*) AS n FROM flags WHERE row_to_json(flags)::text LIKE '%secret%'")).toBe(0);
    });

    it('adds each further mailbox to the first flag, once per mailbox', async () => {
      const key = `${backend.name}-copies`;
      const report = await flaggedReport('copies');
      const sent = await store.recordScan(key, occurrence('sender', 'Sent', 5), report);
      const inbox = await store.recordScan(key, occurrence('recipient', 'INBOX', 812), report);
      expect(inbox).toEqual({ flagId: sent.flagId, created: false, deliveries: [] });
      // A re-queued job, then a UIDVALIDITY resync that renumbered the recipient's INBOX.
      await store.recordScan(key, occurrence('recipient', 'INBOX', 812), report);
      await store.recordScan(key, occurrence('recipient', 'INBOX', 3, '1800000000'), report);
      const stored = await store.flag(sent.flagId!);
      expect(stored!.occurrences.map(({ account, folder, uid, uidValidity }) => ({ account, folder, uid, uidValidity }))).toEqual([
        { account: 'sender', folder: 'Sent', uid: 5, uidValidity: '1700000000' },
        { account: 'recipient', folder: 'INBOX', uid: 3, uidValidity: '1800000000' },
      ]);
    });

    it('keeps the first verdict when a later scan of the same key disagrees', async () => {
      const key = `${backend.name}-verdict`;
      await store.recordScan(key, occurrence('verdict', 'INBOX', 1), await cleanReport('verdict'));
      expect(await store.recordScan(key, occurrence('verdict', 'Sent', 2), await flaggedReport('verdict'))).toEqual({ flagId: null, created: false, deliveries: [] });
      expect(await store.priorScan(key)).toEqual({ flagId: null });
    });

    it('records one flag when twenty scans of one message race from two stores', async () => {
      const key = `${backend.name}-race`;
      const report = await flaggedReport('race');
      // PGlite serves one process, so its race is between calls on one store; PostgreSQL's is between two pools.
      const second = shared.url ? createSqlFlagStore(openPostgres(shared.url, silent), silent) : store;
      try {
        const mailboxes = ['a', 'b', 'c', 'd', 'e'];
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 ? second : store).recordScan(key, occurrence(`race-${mailboxes[i % 5]}`, 'INBOX', 100 + i), report)),
        );
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(new Set(results.map((r) => r.flagId)).size).toBe(1);
        const flagId = results[0]!.flagId!;
        expect(await count(client, 'SELECT count(*) AS n FROM flags WHERE message_key = $1', [key])).toBe(1);
        expect(await count(client, 'SELECT count(*) AS n FROM findings WHERE flag_id = $1', [flagId])).toBe(report.findings.length);
        const stored = await store.flag(flagId);
        expect(stored!.occurrences.map((o) => o.account).sort()).toEqual(mailboxes.map((m) => `race-${m}`));
      } finally {
        if (second !== store) await second.close();
      }
    });
  });

  describe('recordFailure', () => {
    it('keeps a message that could not be scanned in view until a later scan of it succeeds', async () => {
      const key = `${backend.name}-failed`;
      await store.recordFailure(key, occurrence('failing', 'INBOX', 7), 'scan took longer than the 10000 ms limit');
      await store.recordFailure(key, occurrence('failing', 'INBOX', 7), 'scan exceeded the 512 MB memory limit');
      const failures = (await store.scanFailures()).filter((f) => f.messageKey === key);
      expect(failures.map((f) => [f.account, f.folder, f.uid, f.reason])).toEqual([['failing', 'INBOX', 7, 'scan exceeded the 512 MB memory limit']]);
      expect(await store.priorScan(key)).toBeNull();
      await store.recordScan(key, occurrence('failing', 'INBOX', 7), await cleanReport('failed-then-clean'));
      expect(await count(client, 'SELECT count(*) AS n FROM scan_failures WHERE message_key = $1', [key])).toBe(0);
    });
  });

  describe('addOccurrence', () => {
    it('adds a new mailbox, and says false for one already recorded (moving its UID)', async () => {
      const { flagId } = await store.recordScan(`${backend.name}-add`, occurrence('add', 'Sent', 1), await flaggedReport('add'));
      expect(await store.addOccurrence(flagId!, occurrence('add-recipient', 'INBOX', 50))).toBe(true);
      expect(await store.addOccurrence(flagId!, occurrence('add-recipient', 'INBOX', 51))).toBe(false);
      expect(await store.addOccurrence(flagId!, occurrence('add-recipient', 'Archive', 2))).toBe(true);
      const stored = await store.flag(flagId!);
      expect(stored!.occurrences.map((o) => `${o.account}/${o.folder}/${o.uid}`)).toEqual(['add/Sent/1', 'add-recipient/INBOX/51', 'add-recipient/Archive/2']);
    });

    it('names the flag when it does not exist', async () => {
      await expect(store.addOccurrence(987654, occurrence('nobody', 'INBOX', 1))).rejects.toThrow('flag 987654 does not exist (occurrence in nobody INBOX)');
    });
  });
});
