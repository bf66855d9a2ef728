/**
 * A throw-away PostgreSQL for tests: initdb in a temp dir, trust auth, no fsync, a random loopback
 * port; stop() shuts it down and removes the dir. As root it runs as `nobody` (initdb and postgres
 * refuse to run as root). Needs Debian's PostgreSQL server (`postgresql`); `.ci/run` installs it.
 * Start one per test file: initdb takes a second or two.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './redis.js';
import { AS_ROOT, asNobody } from './as-nobody.js';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`, trust auth. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin dir (PGBIN overrides), or null when there is none. */
function binDir(): string | null {
  if (process.env.PGBIN) return existsSync(join(process.env.PGBIN, 'initdb')) ? process.env.PGBIN : null;
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] ? join(PG_ROOT, versions[0], 'bin') : null;
}

export function postgresAvailable(): boolean {
  return binDir() !== null;
}

/** nobody's uid, or its primary group's gid (nogroup). */
function nobodyId(flag: '-u' | '-g'): number {
  const out = spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' });
  const id = Number.parseInt(out.stdout, 10);
  if (!Number.isInteger(id)) throw new Error(`cannot find user nobody: ${out.stderr}`);
  return id;
}

function run(command: string, args: string[], cwd: string): Promise<void> {
  const [cmd, argv] = asNobody(command, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${output}`))));
  });
}

async function waitForQuery(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      // not up yet
    } finally {
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline) throw new Error(`postgres did not answer within 20 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = binDir();
  if (!bin) throw new Error(`no PostgreSQL server under ${PG_ROOT} (apt-get install postgresql)`);
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-pg-'));
  const data = join(dir, 'data');
  let child: ChildProcess | undefined;
  let output = '';
  try {
    if (AS_ROOT) chownSync(dir, nobodyId('-u'), nobodyId('-g'));
    await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], dir);
    const port = await freePort();
    const settings = ['listen_addresses=127.0.0.1', `port=${port}`, `unix_socket_directories=${dir}`, 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];
    const [cmd, argv] = asNobody(join(bin, 'postgres'), ['-D', data, ...settings.flatMap((s) => ['-c', s])]);
    const server = spawn(cmd, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = server;
    server.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    server.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitForQuery(url, server, () => output);
    return {
      url,
      port,
      async stop() {
        if (server.exitCode === null && server.signalCode === null) {
          const exited = new Promise((r) => server.once('exit', r));
          // Fast shutdown: ends sessions, checkpoints (cheap with fsync off) and exits.
          server.kill('SIGINT');
          const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
