/**
 * A throw-away redis-server for tests: a random loopback port, a temp dir, no persistence, and
 * `maxmemory-policy noeviction` as Kestrel requires. Options give a different policy (to test the
 * refusal), AOF (to test that queued work survives a restart: `restart()` brings the server back
 * on the same port and dir), and a CONFIG command disabled as on managed Redis. As root it runs as
 * `nobody` (Redis refuses nothing as root, but tests should not write root-owned files). Needs
 * Debian's `redis-server`; `.ci/run` installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { asNobody } from './as-nobody.js';

export interface RedisOptions {
  /** Default noeviction. */
  maxmemoryPolicy?: string;
  /** Append-only file, fsynced after every write (`always`, so even a SIGKILL loses nothing) or every second. Default off. */
  aof?: false | 'always' | 'everysec';
  /** Rename CONFIG away, as managed services do, so only INFO reports the settings. */
  disableConfig?: boolean;
}

export interface RedisServer {
  url: string;
  port: number;
  /** The server's working dir (AOF and RDB files), kept across restarts. */
  dir: string;
  /** Stops the server (SIGTERM, or SIGKILL with `kill`, losing what AOF has not fsynced) and starts it again on the same port and dir. */
  restart(options?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export function redisAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${log()}`);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer within 10 s: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function configLines(port: number, dir: string, options: RedisOptions): string[] {
  const aof = options.aof ?? false;
  return [
    `bind 127.0.0.1`,
    `port ${port}`,
    `dir ${dir}`,
    'save ""',
    ...(aof ? ['appendonly yes', `appendfsync ${aof}`] : ['appendonly no']),
    `maxmemory-policy ${options.maxmemoryPolicy ?? 'noeviction'}`,
    ...(options.disableConfig ? ['rename-command CONFIG ""'] : []),
    'daemonize no',
    `logfile ""`,
  ];
}

async function launch(config: string, url: string, dir: string): Promise<ChildProcess> {
  const [command, args] = asNobody('redis-server', [config]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  try {
    await waitForPing(url, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return child;
}

async function halt(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-redis-'));
  chmodSync(dir, 0o777);
  const port = await freePort();
  const config = join(dir, 'redis.conf');
  writeFileSync(config, configLines(port, dir, options).join('\n'));
  const url = `redis://127.0.0.1:${port}`;
  let child = await launch(config, url, dir);
  return {
    url,
    port,
    dir,
    async restart({ kill = false } = {}) {
      await halt(child, kill ? 'SIGKILL' : 'SIGTERM');
      child = await launch(config, url, dir);
    },
    async stop() {
      await halt(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
