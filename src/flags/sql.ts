/**
 * The little SQL the flag store needs, over either PostgreSQL (`pg.Pool`, cluster mode) or PGlite
 * (PostgreSQL compiled to WebAssembly, embedded mode). Both run the same SQL text with `$1`
 * parameters. Column types differ between the drivers (PGlite returns int8 as a number, pg as a
 * string), so callers convert what they read.
 */
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import pg from 'pg';
import type { Logger } from '../log.js';
import { lockDataDir } from './data-dir-lock.js';

export type SqlRow = Record<string, unknown>;

/** int8 (bigint ids, counts) arrives as a number from PGlite and as a string from pg. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

export interface SqlResult<R extends SqlRow = SqlRow> {
  rows: R[];
  /** Rows inserted, updated, deleted or returned by the statement. */
  rowCount: number;
}

export interface Queryable {
  /** One statement with `$n` parameters. */
  query<R extends SqlRow = SqlRow>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /** A script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlClient extends Queryable {
  /** Where the data lives, for logs and errors: `host:port/database` or the PGlite directory. Never a password. */
  readonly description: string;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// PGlite

function pgliteQueryable(db: PGlite | Transaction): Queryable {
  return {
    async query<R extends SqlRow>(text: string, params: readonly unknown[] = []) {
      const result = await db.query<R>(text, [...params]);
      return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length };
    },
    async exec(script) {
      await db.exec(script);
    },
  };
}

/**
 * PGlite in `dataDir` (created if missing). PGlite is one process's embedded database: a second
 * process opening the same directory would corrupt it, so the directory is locked while open.
 */
export async function openPglite(dataDir: string): Promise<SqlClient> {
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    lock.release();
    throw new Error(`cannot open the embedded database in ${dataDir}: ${(error as Error).message}`, { cause: error });
  }
  return {
    description: dataDir,
    ...pgliteQueryable(db),
    transaction: (work) => db.transaction((tx) => work(pgliteQueryable(tx))),
    async close() {
      try {
        if (!db.closed) await db.close();
      } finally {
        lock.release();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** `host:port/database` from a connection string, without user or password. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
    return `${host}:${parsed.port || '5432'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
  } catch {
    return 'the PostgreSQL server in store.url (not a valid URL)';
  }
}

/** The password in a connection string, so it can be kept out of any message that might echo it. */
function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password.length > 0 ? password : undefined;
  } catch {
    return undefined;
  }
}

function redact(message: string, password: string | undefined): string {
  return password ? message.split(password).join('***') : message;
}

/** Errors from the server carry a SQLSTATE; anything else (a reset socket, a timeout) is the connection's. */
function hasSqlState(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

function pgQueryable(client: pg.PoolClient, description: string, password: string | undefined): Queryable {
  const lost = (error: unknown): unknown =>
    hasSqlState(error) ? error : new Error(`lost the connection to PostgreSQL at ${description}: ${redact((error as Error).message, password)}`, { cause: error });
  return {
    async query<R extends SqlRow>(text: string, params: readonly unknown[] = []) {
      try {
        const result = await client.query<R>(text, [...params]);
        return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
      } catch (error) {
        throw lost(error);
      }
    },
    async exec(script) {
      try {
        // Without parameters pg sends the simple query protocol, which runs several statements.
        await client.query(script);
      } catch (error) {
        throw lost(error);
      }
    },
  };
}

/** A small pool on `url`. Connection failures name the server, never the password. */
export function openPostgres(url: string, logger: Logger, options: { max?: number } = {}): SqlClient {
  const description = describePostgresUrl(url);
  const password = passwordOf(url);
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 4, connectionTimeoutMillis: 15_000, application_name: 'kestrel' });
  // A connection losing its server emits 'error'; unhandled, that would end the process. The pool
  // re-emits it for idle connections only, so checked-out ones get their own listener: the query
  // they run, or the next, fails and says so.
  pool.on('error', (error) => logger.warn({ store: 'postgres', server: description, err: redact(error.message, password) }, 'idle PostgreSQL connection failed'));
  pool.on('connect', (client) => client.on('error', (error) => logger.debug({ store: 'postgres', server: description, err: redact(error.message, password) }, 'PostgreSQL connection failed')));

  async function connect(): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (error) {
      const reason = redact((error as Error).message || String(error), password);
      throw new Error(`cannot connect to PostgreSQL at ${description}: ${reason}`);
    }
  }

  async function withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }

  return {
    description,
    query: (text, params) => withClient((client) => pgQueryable(client, description, password).query(text, params)),
    exec: (script) => withClient((client) => pgQueryable(client, description, password).exec(script)),
    async transaction(work) {
      const client = await connect();
      let broken: Error | undefined;
      const tx = pgQueryable(client, description, password);
      try {
        await tx.query('BEGIN');
        const result = await work(tx);
        await tx.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          // The connection is unusable: the pool must drop it rather than hand it out again.
          broken = rollbackError as Error;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
