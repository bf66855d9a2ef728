/**
 * The cluster end to end, as real processes: `kestrel connector` and two `kestrel worker`s (the
 * compiled CLI) on a throw-away Redis (AOF), PostgreSQL and Dovecot. Faults are provoked for real:
 * a worker killed with SIGKILL mid-stream, Redis killed and restarted from its AOF, the connector
 * killed while mail arrives and started again, a folder replaced (new UIDVALIDITY). Afterwards
 * every message has a verdict, each flagged message has exactly one flag with every mailbox it was
 * seen in, and no job failed.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { waitFor } from '../helpers/wait.js';
import { delivered, ordinary, OTHER_PUPIL, PUPIL, rfc822, SELF_HARM, spawnKestrel, STAFF, STAFF_TO_PUPIL, TRUST, type KestrelProcess } from './support.js';

let redis: RedisServer;
let postgres: PostgresServer;
let dovecot: DovecotServer;
let dir: string;
let db: pg.Client;
const processes = new Set<ChildProcess>();

beforeAll(async () => {
  [redis, postgres, dovecot] = await Promise.all([startRedis({ aof: 'always' }), startPostgres(), startDovecot()]);
  dir = mkdtempSync(join(tmpdir(), 'kestrel-cluster-'));
  writeFileSync(join(dir, 'queue.key'), randomBytes(32).toString('base64'));
  const account = (id: string, user: string) =>
    `  - { id: ${id}, host: 127.0.0.1, port: ${dovecot.port}, tls: none, user: ${user}, password: { value: secret }, pollSeconds: 5, backfillSince: 2000-01-01 }`;
  writeFileSync(
    join(dir, 'kestrel.yaml'),
    [
      TRUST,
      'accounts:',
      account('staff-hali', 'alice'),
      account('pupil-jdoe', 'bob'),
      'queue: { key: { file: queue.key }, backoffMs: 200 }',
      // Short locks so a killed worker's job returns to the queue within seconds, not a minute.
      'workers: { concurrency: 1, lockSeconds: 3 }',
      'connect: { leaseSeconds: 5, reconnectMinMs: 200, reconnectMaxMs: 2000 }',
      'metrics: { listen: false }',
      'log: { level: info }',
    ].join('\n'),
  );
  db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
});

afterAll(async () => {
  for (const child of processes) child.kill('SIGKILL');
  await db?.end();
  await Promise.all([redis?.stop(), postgres?.stop(), dovecot?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function kestrel(command: 'connector' | 'worker'): KestrelProcess {
  return spawnKestrel([command, '--config', join(dir, 'kestrel.yaml')], { REDIS_URL: redis.url, DATABASE_URL: postgres.url }, processes);
}

async function count(sql: string): Promise<number> {
  try {
    return Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
  } catch (error) {
    // Until the first process has migrated the store, its tables do not exist yet.
    if ((error as { code?: string }).code === '42P01') return 0;
    throw error;
  }
}

async function stop(process: KestrelProcess): Promise<number | null> {
  process.child.kill('SIGTERM');
  return process.exited;
}

describe('the cluster (connector, workers, Redis, PostgreSQL, Dovecot)', () => {
  it('loses no message and makes no duplicate flag through worker, Redis and connector crashes and a UIDVALIDITY change', { timeout: 240_000 }, async () => {
    const bullying = { from: OTHER_PUPIL, to: PUPIL, subject: 'you', body: 'Everyone hates you, you are a fat ugly loser. Kill yourself, nobody would care.', id: 'bullying-1' };
    // The staff message is in the sender's Sent and the pupil's INBOX: one flag, two mailboxes.
    await dovecot.append('alice', 'Sent', rfc822(STAFF_TO_PUPIL));
    await dovecot.append('bob', 'INBOX', delivered(STAFF_TO_PUPIL), ...Array.from({ length: 10 }, (_, i) => rfc822(ordinary(i, STAFF, PUPIL))));
    await dovecot.append('bob', 'Sent', rfc822(SELF_HARM));
    await dovecot.append('alice', 'INBOX', ...Array.from({ length: 10 }, (_, i) => rfc822(ordinary(100 + i, PUPIL, STAFF))));
    let distinct = 1 + 10 + 1 + 10;

    const connector = kestrel('connector');
    const doomedWorker = kestrel('worker');
    const worker = kestrel('worker');
    try {
      // SIGKILL one worker as soon as the first verdicts are in: its job in hand must not be lost.
      await waitFor('the first verdicts', async () => (await count('SELECT count(*) AS n FROM messages')) >= 1, 60_000);
      doomedWorker.child.kill('SIGKILL');
      expect(await doomedWorker.exited).toBeNull();

      // Redis dies without warning and comes back from its append-only file.
      await redis.restart({ kill: true });

      // The connector dies; mail keeps arriving; a new connector resumes at the checkpoints.
      connector.child.kill('SIGKILL');
      await connector.exited;
      await dovecot.append('bob', 'INBOX', rfc822(bullying));
      await dovecot.append('alice', 'INBOX', ...Array.from({ length: 5 }, (_, i) => rfc822(ordinary(200 + i, PUPIL, STAFF))));
      distinct += 1 + 5;
      const secondConnector = kestrel('connector');
      try {
        await waitFor('every message to have a verdict', async () => (await count('SELECT count(*) AS n FROM messages')) === distinct, 120_000);

        // The staff member's Sent folder is replaced (new UIDVALIDITY) holding the same message and a new one.
        const admin = await dovecot.client('alice');
        try {
          await admin.mailboxDelete('Sent');
          await admin.mailboxCreate('Sent');
          await admin.append('Sent', rfc822(STAFF_TO_PUPIL));
          await admin.append('Sent', rfc822(ordinary(300, STAFF, PUPIL)));
        } finally {
          await admin.logout();
        }
        distinct += 1;
        await waitFor('the replaced folder to be read again', async () => (await count('SELECT count(*) AS n FROM messages')) === distinct, 60_000);
        await waitFor(
          'the occurrence to move to the new epoch',
          async () => (await count("SELECT count(*) AS n FROM occurrences o JOIN checkpoints c ON c.account = o.account AND c.folder = o.folder WHERE o.account = 'staff-hali' AND o.folder = 'Sent' AND o.uid_validity = c.uid_validity")) === 1,
          30_000,
        );
      } finally {
        expect(await stop(secondConnector)).toBe(0);
      }
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- connector log ---\n${connector.log()}\n--- worker log ---\n${worker.log()}`, { cause: error });
    }
    // A clean SIGTERM: in-flight work finished, connections closed, exit status 0.
    expect(await stop(worker)).toBe(0);

    expect(await count('SELECT count(*) AS n FROM messages')).toBe(distinct);
    expect(await count('SELECT count(*) AS n FROM scan_failures')).toBe(0);
    const flags = await db.query<{ id: string; categories: string[]; mailboxes: string[] }>(
      `SELECT f.id, f.categories, array_agg(o.account || '/' || o.folder ORDER BY o.account, o.folder) AS mailboxes
       FROM flags f JOIN occurrences o ON o.flag_id = f.id GROUP BY f.id ORDER BY f.id`,
    );
    const byCategory = (category: string) => flags.rows.filter((f) => f.categories.includes(category));
    expect(flags.rows).toHaveLength(3);
    expect(byCategory('pupil_email.personal_contact').map((f) => f.mailboxes)).toEqual([['pupil-jdoe/INBOX', 'staff-hali/Sent']]);
    expect(byCategory('safety.self_harm').map((f) => f.mailboxes)).toContainEqual(['pupil-jdoe/Sent']);
    expect(byCategory('safety.bullying').map((f) => f.mailboxes)).toEqual([['pupil-jdoe/INBOX']]);
    // Nothing was left behind in Redis's failed set either.
    const { Queue } = await import('bullmq');
    const queue = new Queue('scan', { connection: { url: redis.url }, prefix: 'kestrel' });
    try {
      expect(await queue.getJobCounts('failed', 'waiting', 'active', 'delayed')).toEqual({ failed: 0, waiting: 0, active: 0, delayed: 0 });
    } finally {
      await queue.close();
    }
  });
});
