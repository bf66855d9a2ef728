/** Reports from the real scanner, and the two databases the store suite runs against. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { Occurrence } from '../../src/flags/types.js';
import { pgliteDir } from '../../src/flags/open.js';
import type { Reviewer } from '../../src/flags/review-types.js';
import { openPglite, openPostgres, toNumber, type SqlClient } from '../../src/flags/sql.js';
import { createScanner, type Scanner, type ScanReport } from '../../src/scan/pipeline.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';

export const silent = pino({ level: 'silent' });

const CONFIG = `
trust:
  name: Oakfield Learning Trust
  domains: [oakfield.sch.uk, riverside.sch.uk]
  staff: ["*@staff.oakfield.sch.uk"]
  pupils: ["*@pupils.oakfield.sch.uk", "*@pupils.riverside.sch.uk"]
  academies:
    - name: Oakfield Primary
      patterns: ["*@pupils.oakfield.sch.uk"]
    - name: Riverside Academy
      patterns: ["*@pupils.riverside.sch.uk"]
builtinLexicons: false
lexicons: [../fixtures/lexicons]
`;

let scanner: Scanner | undefined;

/** The config file is never read: parseConfig uses its name for relative paths only. */
export function sharedScanner(): Scanner {
  scanner ??= createScanner(parseConfig('test/flags/kestrel.yaml', CONFIG));
  return scanner;
}

export function mail(id: string, body: string): Buffer {
  return Buffer.from(
    [
      'From: Lily Morgan <22lmorgan@pupils.oakfield.sch.uk>',
      'To: 23sokafor@pupils.oakfield.sch.uk',
      'Subject: tonight',
      'Date: Sun, 09 Mar 2025 22:41:00 +0000',
      `Message-ID: <${id}@pupils.oakfield.sch.uk>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
    ].join('\r\n'),
  );
}

export interface MailParts {
  /** The local part of the Message-ID, unique per message. */
  id: string;
  from: string;
  to: string[];
  subject: string;
  body: string;
}

/** A plain-text message between any parties (the trust has two academies: Oakfield Primary and Riverside Academy). */
export function mailBetween(parts: MailParts): Buffer {
  return Buffer.from(
    [
      `From: ${parts.from}`,
      `To: ${parts.to.join(', ')}`,
      `Subject: ${parts.subject}`,
      'Date: Sun, 09 Mar 2025 22:41:00 +0000',
      `Message-ID: <${parts.id}@kestrel.test>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      parts.body,
    ].join('\r\n'),
  );
}

/** The real scanner's report on `parts`, which it must flag. */
export async function flaggedReportOf(parts: MailParts): Promise<ScanReport> {
  const report = await sharedScanner().scan(mailBetween(parts));
  if (!report.flagged) throw new Error(`expected the scanner to flag test message ${parts.id}`);
  return report;
}

/** A report the scanner flags (urgent self-harm intent, with body evidence). */
export async function flaggedReport(id: string): Promise<ScanReport> {
  const report = await sharedScanner().scan(mail(id, 'everyone would be better off without me. i just want to kill myself tonight'));
  if (!report.flagged) throw new Error('expected the scanner to flag the test message');
  return report;
}

export async function cleanReport(id: string): Promise<ScanReport> {
  const report = await sharedScanner().scan(mail(id, 'see you at the trip on friday, bring a packed lunch'));
  if (report.flagged) throw new Error('expected the scanner to pass the test message');
  return report;
}

export function occurrence(account: string, folder: string, uid: number, uidValidity = '1700000000'): Occurrence {
  return { account, folder, uid, uidValidity, seenAt: new Date() };
}

export interface Database {
  client: SqlClient;
  /** PostgreSQL: the database's URL, for more clients on it (PGlite allows one). */
  url?: string;
}

export interface Backend {
  readonly name: 'PGlite' | 'PostgreSQL';
  /** An empty database, so a test can have its own schema history. */
  fresh(): Promise<Database>;
  stop(): Promise<void>;
}

/**
 * PGlite's initdb takes seconds; copying a directory it initialised once takes milliseconds, so
 * each fresh database is a copy of the template test/global-setup.ts made for the whole run.
 */
export async function pgliteBackend(): Promise<Backend> {
  const root = mkdtempSync(join(tmpdir(), 'kestrel-flags-'));
  const template = inject('pgliteTemplate');
  let count = 0;
  return {
    name: 'PGlite',
    async fresh() {
      const dir = join(root, `db${++count}`);
      cpSync(template, dir, { recursive: true });
      return { client: await openPglite(dir) };
    },
    async stop() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A monitor's account written straight into the store, for tests that act as a reviewer. */
export async function insertMonitor(client: SqlClient): Promise<Reviewer> {
  const { rows } = await client.query<{ id: unknown }>("INSERT INTO users (username, display_name, role) VALUES ('mon', 'Mon', 'monitor') RETURNING id");
  return { id: toNumber(rows[0]!.id), username: 'mon', displayName: 'Mon', role: 'monitor', academy: null };
}

/** Gives `dataDir` (a store.dataDir) an initialised embedded database, copied from the run's template. */
export function seedPglite(dataDir: string): void {
  cpSync(inject('pgliteTemplate'), pgliteDir(dataDir), { recursive: true });
}

export async function postgresBackend(): Promise<Backend & { server: PostgresServer }> {
  const server = await startPostgres();
  let count = 0;
  return {
    name: 'PostgreSQL',
    server,
    async fresh() {
      const database = `flags${++count}`;
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${database}`);
      } finally {
        await admin.end();
      }
      const url = server.url.replace(/\/postgres$/, `/${database}`);
      return { client: openPostgres(url, silent), url };
    },
    stop: () => server.stop(),
  };
}
