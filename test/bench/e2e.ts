/**
 * `npm run bench:e2e [-- --corpus DIR] [--limit N] [--json] ...`: Kestrel as a cluster on real
 * servers, beside the in-process pipeline measured in the same run on the same cores.
 *
 * 1. The in-process pipeline: a ScanPool with one thread per core over the messages held in
 *    memory, as `kestrel scan` runs it (spread stage included), from the lexicon load to the last
 *    report.
 * 2. Throughput: every message is APPENDed to Dovecot first (untimed), then `kestrel connector`
 *    and `kestrel worker` start as real processes (the compiled CLI) with `backfillSince`, and the
 *    clock runs from their spawn to the last verdict in PostgreSQL (rows in `messages` plus
 *    `scan_failures`). Each worker layout gets its own database and queue prefix, so every trial
 *    backfills the same mailboxes from scratch.
 * 3. Latency: the fastest layout is started again and left to go idle, then fresh messages (the
 *    same corpus with new Message-IDs, so their message keys are new) are APPENDed at half its
 *    measured throughput; each one's latency is its `messages.scanned_at` minus the moment its
 *    APPEND completed. The first seconds warm the restarted processes up and are not counted.
 *
 * Redis, PostgreSQL, Dovecot, the connector, the workers and this script share the machine's
 * cores; CPU per process group is read from /proc so the report shows where the time went, and
 * what other processes on the machine took meanwhile.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import type { ImapFlow } from 'imapflow';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.js';
import { messageKey } from '../../src/flags/message-key.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { SCAN_QUEUE } from '../../src/queue/connection.js';
import { jobIds } from '../../src/queue/job-id.js';
import { startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { freePort, startRedis, type RedisServer } from '../harness/redis.js';
import { sleep } from '../helpers/wait.js';

// ---------------------------------------------------------------------------------------------
// Options

interface Layout {
  /** Worker processes. */
  processes: number;
  /** `workers.concurrency` of each: messages at once, and scan threads. */
  concurrency: number;
}

interface Options {
  corpus: string;
  limit: number;
  json: boolean;
  /** The Kestrel build whose `bin/kestrel.js` and `dist/` run. */
  root: string;
  accounts: number;
  layouts: Layout[];
  latencySeconds: number;
  warmupSeconds: number;
}

const USAGE = `usage: npm run bench:e2e -- [--corpus DIR] [--limit N] [--json] [--accounts K]
       [--layouts PxC,...] [--latency-seconds S] [--warmup-seconds W] [--root DIR]
  --corpus DIR          .eml files to use (default ../shared/corpus/perf beside the checkout)
  --limit N             use the first N messages (sorted by file name)
  --accounts K          mailboxes the messages are spread over, one account each (default 4)
  --layouts PxC,...     worker layouts to try: P processes with concurrency C (default 1x2,2x1 on 2 cores)
  --latency-seconds S   measured part of the steady-load run (default 20)
  --warmup-seconds W    steady load before the measured part, not counted (default 3)
  --root DIR            the Kestrel build to run (bin/kestrel.js, dist/); default this checkout
  --json                also print the whole report as one JSON line, last on stdout`;

class BenchError extends Error {}

const OPTIONS = {
  corpus: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean', default: false },
  root: { type: 'string' },
  accounts: { type: 'string' },
  layouts: { type: 'string' },
  'latency-seconds': { type: 'string' },
  'warmup-seconds': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

function parseLayouts(text: string): Layout[] {
  return text.split(',').map((part) => {
    const match = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw new BenchError(`--layouts: expected entries like 1x2 (processes x concurrency), got "${part}"`);
    return { processes: Number(match[1]), concurrency: Number(match[2]) };
  });
}

function positiveNumber(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new BenchError(`${option}: expected a positive number, got "${text}"`);
  return value;
}

function parseCommandLine() {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (error) {
    throw new BenchError(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  }
}

function readOptions(): Options {
  const { values } = parseCommandLine();
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const cores = availableParallelism();
  const defaultLayouts = cores > 1 ? `1x${cores},${cores}x1` : '1x1';
  return {
    corpus: resolve(values.corpus ?? join(PACKAGE_ROOT, '..', 'shared', 'corpus', 'perf')),
    limit: Math.floor(positiveNumber(values.limit, '--limit', Number.MAX_SAFE_INTEGER)),
    json: values.json,
    root: resolve(values.root ?? PACKAGE_ROOT),
    accounts: Math.floor(positiveNumber(values.accounts, '--accounts', 4)),
    layouts: parseLayouts(values.layouts ?? defaultLayouts),
    latencySeconds: positiveNumber(values['latency-seconds'], '--latency-seconds', 20),
    warmupSeconds: values['warmup-seconds'] === '0' ? 0 : positiveNumber(values['warmup-seconds'], '--warmup-seconds', 3),
  };
}

function log(line: string): void {
  process.stderr.write(`bench:e2e: ${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// Messages

function loadCorpus(dir: string, limit: number): Buffer[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new BenchError(`no corpus at ${dir}: the perf corpus lives outside the repository (../shared/corpus/perf beside the checkout); pass --corpus DIR with .eml files`);
  }
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.eml'))
    .sort()
    .slice(0, limit);
  if (files.length === 0) throw new BenchError(`no .eml files in ${dir}: pass --corpus DIR with .eml files`);
  return files.map((name) => readFileSync(join(dir, name)));
}

/** The message with its Message-ID replaced (or added): a new message key, every other byte kept. */
function withMessageId(raw: Buffer, id: string): Buffer {
  const text = raw.toString('latin1');
  const blank = /\r?\n\r?\n/.exec(text);
  const headEnd = blank ? blank.index : text.length;
  const head = text.slice(0, headEnd);
  const eol = head.includes('\r\n') ? '\r\n' : '\n';
  const field = /^message-id[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*/im;
  const newHead = field.test(head) ? head.replace(field, `Message-ID: <${id}>`) : `Message-ID: <${id}>${eol}${head}`;
  return Buffer.from(newHead + text.slice(headEnd), 'latin1');
}

// ---------------------------------------------------------------------------------------------
// CPU per process group, from /proc

const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface ProcStat {
  ppid: number;
  comm: string;
  /** utime + stime */
  own: number;
  /** cutime + cstime: children that exited and were reaped. */
  reaped: number;
}

/** `/proc/<path>/stat`: a process (`123`) or one of its threads (`123/task/124`). */
function readProcStat(path: string): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${path}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    const n = (i: number) => Number(fields[i] ?? 0);
    return { ppid: n(1), comm, own: n(11) + n(12), reaped: n(13) + n(14) };
  } catch {
    return null; // the process ended meanwhile
  }
}

function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + steal;
}

interface CpuSample {
  at: number;
  machine: number;
  groups: Map<string, number>;
}

const MAIN_THREAD = ' main thread';
const SERVER_GROUPS: Record<string, string> = { 'redis-server': 'redis', postgres: 'postgres', dovecot: 'dovecot' };

/**
 * Ticks used by each group of this script's descendants: a server with all its children (an exited
 * child's ticks reach its parent's cutime once reaped, so they are never lost between samples),
 * each cluster process by its role (its scan threads included), and this script itself.
 */
function sampleCpu(roles: ReadonlyMap<number, string>): CpuSample {
  const self = process.pid;
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(entry);
    if (stat) stats.set(Number(entry), stat);
  }
  const groups = new Map<string, number>();
  const add = (group: string, ticks: number) => groups.set(group, (groups.get(group) ?? 0) + ticks);
  // A Node process's main thread is the task with its pid; the rest are scan threads, GC and libuv.
  const addMainThread = (pid: number, group: string) => add(`${group}${MAIN_THREAD}`, readProcStat(`${pid}/task/${pid}`)?.own ?? 0);
  for (const [pid, stat] of stats) {
    if (pid === self) {
      // Only its own ticks: its cutime holds the cluster processes of earlier runs, once reaped.
      add('bench', stat.own);
      addMainThread(pid, 'bench');
      continue;
    }
    let top = pid;
    let parent = stat.ppid;
    for (let depth = 0; parent !== self && parent > 1 && depth < 64; depth++) {
      top = parent;
      parent = stats.get(parent)?.ppid ?? 0;
    }
    if (parent !== self) continue;
    const role = roles.get(top);
    add(role ?? SERVER_GROUPS[stats.get(top)?.comm ?? ''] ?? 'bench', stat.own + stat.reaped);
    if (role !== undefined && top === pid) addMainThread(pid, role);
  }
  return { at: performance.now(), machine: machineBusyTicks(), groups };
}

interface CpuUse {
  /** Average cores each group used; `other` is every process outside this benchmark, `total` the whole machine. */
  cores: Record<string, number>;
  /** CPU time per message, in ms, by group; `ours` is everything this benchmark started. */
  msPerMessage: Record<string, number>;
}

/**
 * CPU between two samples. Cost per message is the figure that survives a busy machine: other
 * processes slow a run down, but take little from the CPU time each message needs.
 */
function cpuUse(from: CpuSample, to: CpuSample, messages: number): CpuUse {
  const seconds = (to.at - from.at) / 1000;
  const cores: Record<string, number> = {};
  const msPerMessage: Record<string, number> = {};
  const record = (group: string, ticks: number) => {
    cores[group] = Number((ticks / HZ / seconds).toFixed(2));
    msPerMessage[group] = Number(((ticks / HZ) * 1000 / messages).toFixed(2));
  };
  let ours = 0;
  for (const [group, ticks] of [...to.groups].sort(([a], [b]) => a.localeCompare(b))) {
    const used = Math.max(0, ticks - (from.groups.get(group) ?? 0));
    // A main thread's ticks are already in its process's.
    if (!group.endsWith(MAIN_THREAD)) ours += used;
    record(group, used);
  }
  record('ours', ours);
  record('other', Math.max(0, to.machine - from.machine - ours));
  record('total', to.machine - from.machine);
  return { cores, msPerMessage };
}

// ---------------------------------------------------------------------------------------------
// Teardown, also on Ctrl-C

class Teardown {
  private readonly steps: Array<{ name: string; run: () => Promise<void> | void }> = [];
  private running: Promise<void> | null = null;

  add(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step.run();
        } catch (error) {
          log(`stopping ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    })();
    return this.running;
  }
}

// ---------------------------------------------------------------------------------------------
// The in-process pipeline, from the build under test

type BuiltModules = {
  pool: typeof import('../../src/scan/pool.js');
  batch: typeof import('../../src/scan/batch.js');
  stage: typeof import('../../src/scan/spread/stage.js');
  tracker: typeof import('../../src/scan/spread/tracker.js');
  log: typeof import('../../src/log.js');
};

async function importBuilt<T>(root: string, path: string): Promise<T> {
  return (await import(pathToFileURL(join(root, 'dist', path)).href)) as T;
}

function requireBuild(root: string): void {
  for (const path of ['bin/kestrel.js', 'dist/src/cli/main.js', 'dist/src/queue/consumer.js', 'dist/workers/scan-worker.js']) {
    if (!existsSync(join(root, path))) throw new BenchError(`no ${path} under ${root}: build first (npm run build; npm run bench:e2e does)`);
  }
}

interface BaselineResult {
  threads: number;
  seconds: number;
  messagesPerSecond: number;
  /** From the start to the first report: lexicon load and thread start. */
  firstResultSeconds: number;
  /** From the first report to the last. */
  steadyMessagesPerSecond: number;
  flagged: number;
  failed: number;
  cpu: CpuUse;
}

/** `kestrel scan`'s loop over messages in memory: same window of messages in flight, spread stage in input order. */
async function runBaseline(root: string, configFile: string, configText: string, messages: Buffer[]): Promise<BaselineResult> {
  const built: BuiltModules = {
    pool: await importBuilt(root, 'src/scan/pool.js'),
    batch: await importBuilt(root, 'src/scan/batch.js'),
    stage: await importBuilt(root, 'src/scan/spread/stage.js'),
    tracker: await importBuilt(root, 'src/scan/spread/tracker.js'),
    log: await importBuilt(root, 'src/log.js'),
  };
  const config = parseConfig(configFile, configText);
  const threads = availableParallelism();
  async function* items() {
    for (let i = 0; i < messages.length; i++) yield { file: `message ${i + 1}`, raw: messages[i]! };
  }
  const cpuFrom = sampleCpu(new Map());
  const started = performance.now();
  const pool = built.pool.openScanPool({ config, threads });
  const spread = config.chainMail.spread.enabled ? new built.tracker.MemorySpreadTracker() : null;
  let first = 0;
  let flagged = 0;
  let failed = 0;
  try {
    for await (const scanned of built.batch.scanItems(items(), pool, threads * 4, built.log.createLogger(config))) {
      first ||= performance.now();
      const line = built.batch.isErrorLine(scanned) ? scanned : await built.stage.applySpread(scanned, spread, config);
      if (built.batch.isErrorLine(line)) failed++;
      else if (line.flagged) flagged++;
    }
  } finally {
    await pool.close();
    await spread?.close();
  }
  const ended = performance.now();
  const cpu = cpuUse(cpuFrom, sampleCpu(new Map()), messages.length);
  const seconds = (ended - started) / 1000;
  return {
    threads,
    seconds,
    messagesPerSecond: messages.length / seconds,
    firstResultSeconds: (first - started) / 1000,
    steadyMessagesPerSecond: ended > first ? (messages.length - 1) / ((ended - first) / 1000) : messages.length / seconds,
    flagged,
    failed,
    cpu,
  };
}

// ---------------------------------------------------------------------------------------------
// Mailboxes

const PASSWORD = 'bench-secret';
const FOLDER = 'INBOX';

interface Appended {
  account: string;
  uidValidity: string;
  uid: number;
  /** Date.now() when the server answered the APPEND. */
  doneAt: number;
}

function userName(account: number): string {
  return `bench${account + 1}`;
}

function accountId(account: number): string {
  return `mailbox-${account + 1}`;
}

async function openClients(dovecot: DovecotServer, accounts: number): Promise<ImapFlow[]> {
  return Promise.all(Array.from({ length: accounts }, (_, a) => dovecot.client(userName(a))));
}

async function closeClients(clients: ImapFlow[]): Promise<void> {
  await Promise.all(clients.map((client) => client.logout().catch(() => client.close())));
}

async function appendOne(client: ImapFlow, account: number, raw: Buffer): Promise<Appended> {
  const response = await client.append(FOLDER, raw);
  if (!response || response.uid === undefined || response.uidValidity === undefined) throw new BenchError(`APPEND to ${userName(account)}/${FOLDER} gave no APPENDUID`);
  return { account: accountId(account), uidValidity: String(response.uidValidity), uid: response.uid, doneAt: Date.now() };
}

/** Message i goes to account i mod K; each account's messages go in order on its own connection. */
async function appendAll(dovecot: DovecotServer, accounts: number, messages: Buffer[]): Promise<number> {
  const started = performance.now();
  const clients = await openClients(dovecot, accounts);
  try {
    await Promise.all(
      clients.map(async (client, a) => {
        for (let i = a; i < messages.length; i += accounts) await appendOne(client, a, messages[i]!);
      }),
    );
  } finally {
    await closeClients(clients);
  }
  return (performance.now() - started) / 1000;
}

// ---------------------------------------------------------------------------------------------
// The cluster: real `kestrel connector` and `kestrel worker` processes

interface ClusterSettings {
  root: string;
  dir: string;
  dovecot: DovecotServer;
  redisUrl: string;
  queueKey: string;
  accounts: number;
}

interface Target {
  /** PostgreSQL database of this run. */
  storeUrl: string;
  /** Queue prefix of this run. */
  prefix: string;
  layout: Layout;
}

interface Member {
  name: string;
  role: 'connector' | 'worker';
  child: ChildProcess;
  logFile: string;
  metricsPort: number;
  exit: Promise<number | null>;
  exited: boolean;
}

function configText(settings: ClusterSettings, target: Target, metricsPort: number | false): string {
  // JSON is YAML: the file kestrel reads, written without a YAML library.
  return JSON.stringify(
    {
      accounts: Array.from({ length: settings.accounts }, (_, a) => ({
        id: accountId(a),
        host: settings.dovecot.host,
        port: settings.dovecot.port,
        tls: 'none',
        user: userName(a),
        password: { value: PASSWORD },
        backfillSince: '2000-01-01',
      })),
      queue: { redisUrl: settings.redisUrl, prefix: target.prefix, key: { value: settings.queueKey } },
      workers: { concurrency: target.layout.concurrency },
      store: { url: target.storeUrl },
      metrics: { listen: metricsPort === false ? false : `127.0.0.1:${metricsPort}` },
    },
    null,
    2,
  );
}

class Cluster {
  readonly members: Member[] = [];
  readonly roles = new Map<number, string>();
  spawnedAt = 0;

  constructor(
    private readonly settings: ClusterSettings,
    readonly target: Target,
    private readonly label: string,
  ) {}

  async start(): Promise<void> {
    const { layout } = this.target;
    const plan: Array<{ name: string; role: Member['role'] }> = [
      { name: 'connector', role: 'connector' },
      ...Array.from({ length: layout.processes }, (_, i) => ({ name: layout.processes === 1 ? 'worker' : `worker-${i + 1}`, role: 'worker' as const })),
    ];
    const prepared = [];
    for (const { name, role } of plan) {
      const metricsPort = await freePort();
      const file = join(this.settings.dir, `${this.label}-${name}.yaml`);
      const text = configText(this.settings, this.target, metricsPort);
      parseConfig(file, text); // a config kestrel would refuse fails here, with its own message
      writeFileSync(file, text);
      prepared.push({ name, role, file, metricsPort });
    }
    const env = { ...process.env };
    // The config files say where Redis and PostgreSQL are; the environment must not override them.
    delete env.REDIS_URL;
    delete env.DATABASE_URL;
    this.spawnedAt = Date.now();
    for (const { name, role, file, metricsPort } of prepared) {
      const logFile = join(this.settings.dir, `${this.label}-${name}.log`);
      const fd = openSync(logFile, 'a');
      const child = spawn(process.execPath, [join(this.settings.root, 'bin', 'kestrel.js'), role, '--config', file], { stdio: ['ignore', fd, fd], env });
      closeSync(fd);
      const member: Member = {
        name,
        role,
        child,
        logFile,
        metricsPort,
        exited: false,
        exit: new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code))),
      };
      void member.exit.then(() => (member.exited = true));
      this.members.push(member);
      if (child.pid !== undefined) this.roles.set(child.pid, role);
    }
  }

  /** Throws, with the log's tail, when a member ended while it should be running. */
  checkAlive(): void {
    const dead = this.members.find((m) => m.exited);
    if (dead) throw new BenchError(`${this.label}: ${dead.name} exited with ${dead.child.exitCode ?? dead.child.signalCode}:\n${logTail(dead.logFile)}`);
  }

  /** Every account's folders have caught up and wait for news, and every worker answers /readyz. */
  async waitUntilIdle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.checkAlive();
      if ((await this.idleAccounts()) === this.settings.accounts && (await this.workersReady())) return;
      if (Date.now() > deadline) throw new BenchError(`${this.label}: the cluster did not go idle within ${timeoutMs / 1000} s`);
      await sleep(200);
    }
  }

  private async idleAccounts(): Promise<number> {
    const connector = this.members.find((m) => m.role === 'connector')!;
    const text = await httpText(connector.metricsPort, '/metrics');
    if (text === null) return 0;
    return text.split('\n').filter((line) => line.startsWith('kestrel_connector_state{') && line.includes('state="idle"') && line.endsWith(' 1')).length;
  }

  private async workersReady(): Promise<boolean> {
    const workers = this.members.filter((m) => m.role === 'worker');
    const answers = await Promise.all(workers.map((w) => httpStatus(w.metricsPort, '/readyz')));
    return answers.every((status) => status === 200);
  }

  /** SIGTERM, as an operator would stop it; SIGKILL after 20 s. */
  async stop(): Promise<{ seconds: number; exitCodes: Record<string, number | string | null> }> {
    const started = performance.now();
    await Promise.all(
      this.members.map(async (member) => {
        if (member.exited) return;
        member.child.kill('SIGTERM');
        const timer = setTimeout(() => member.child.kill('SIGKILL'), 20_000);
        await member.exit;
        clearTimeout(timer);
      }),
    );
    const exitCodes = Object.fromEntries(this.members.map((m) => [m.name, m.child.exitCode ?? m.child.signalCode]));
    return { seconds: (performance.now() - started) / 1000, exitCodes };
  }

  /** Error and warning lines in the members' logs (pino levels 50+ and 40). */
  logCounts(): { errors: number; warnings: number; firstError?: string } {
    let errors = 0;
    let warnings = 0;
    let firstError: string | undefined;
    for (const member of this.members) {
      for (const line of readFileSync(member.logFile, 'utf8').split('\n')) {
        const level = /"level":(\d+)/.exec(line)?.[1];
        if (level === undefined) continue;
        if (Number(level) >= 50) {
          errors++;
          firstError ??= `${member.name}: ${line.slice(0, 400)}`;
        } else if (Number(level) === 40) warnings++;
      }
    }
    return { errors, warnings, ...(firstError ? { firstError } : {}) };
  }
}

function logTail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function httpText(port: number, path: string): Promise<string | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3_000) });
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

async function httpStatus(port: number, path: string): Promise<number | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3_000) });
    await response.text();
    return response.status;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// What the store and the queue hold

async function connectPostgres(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // A server going away (Ctrl-C reaches it too) fails the query in hand; unheard, the event would end the process before its teardown.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Verdicts so far: scanned messages plus messages recorded as unscannable; 0 before the schema exists. */
async function verdictCount(db: pg.Client): Promise<number> {
  try {
    const { rows } = await db.query<{ n: string }>('SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM scan_failures) AS n');
    return Number(rows[0]?.n ?? 0);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return 0; // undefined_table: the workers have not migrated yet
    throw error;
  }
}

interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

async function queueCounts(queue: Queue): Promise<QueueCounts> {
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
  return { waiting: counts.waiting ?? 0, active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0, completed: counts.completed ?? 0 };
}

interface TimelinePoint extends QueueCounts {
  /** Seconds since the phase started. */
  t: number;
  verdicts: number;
}

function openQueue(redisUrl: string, prefix: string): Queue {
  const queue = new Queue(SCAN_QUEUE, { connection: { url: redisUrl }, prefix });
  queue.on('error', () => {}); // a failed reading shows as an error where it is awaited
  return queue;
}

// ---------------------------------------------------------------------------------------------
// Work the servers did per message: round trips are what the plumbing costs

interface ServerWork {
  /** PostgreSQL transactions committed in the run's database (a statement outside BEGIN is one). */
  postgresTransactions: number;
  postgresRowsWritten: number;
  /** Redis commands, those run inside BullMQ's Lua scripts included. */
  redisCommands: number;
  /** The Redis commands that took the most server time, per message. */
  redisTop: Array<{ command: string; calls: number; usec: number }>;
}

async function resetRedisStats(redis: Redis): Promise<void> {
  await redis.call('CONFIG', 'RESETSTAT');
}

async function postgresCounters(admin: pg.Client, database: string): Promise<{ transactions: number; rowsWritten: number }> {
  const { rows } = await admin.query<{ xact_commit: string; written: string }>(
    'SELECT xact_commit, tup_inserted + tup_updated + tup_deleted AS written FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  return { transactions: Number(rows[0]?.xact_commit ?? 0), rowsWritten: Number(rows[0]?.written ?? 0) };
}

/**
 * Per message, since the counters were last read or reset. Includes this benchmark's own polling
 * (one query and one BullMQ count script every SAMPLE_MS), well under 1% of the totals.
 */
async function serverWork(redis: Redis, admin: pg.Client, database: string, before: { transactions: number; rowsWritten: number }, messages: number): Promise<ServerWork> {
  // PostgreSQL publishes a session's counters when it ends or idles a moment: the cluster has stopped by now.
  await sleep(1_200);
  const after = await postgresCounters(admin, database);
  const stats = ((await redis.call('INFO', 'commandstats')) as string)
    .split(/\r?\n/)
    .map((line) => /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ command: match[1]!, calls: Number(match[2]), usec: Number(match[3]) }));
  const per = (n: number) => Number((n / messages).toFixed(2));
  return {
    postgresTransactions: per(after.transactions - before.transactions),
    postgresRowsWritten: per(after.rowsWritten - before.rowsWritten),
    redisCommands: per(stats.reduce((n, s) => n + s.calls, 0)),
    redisTop: stats
      .sort((a, b) => b.usec - a.usec)
      .slice(0, 6)
      .map((s) => ({ command: s.command, calls: per(s.calls), usec: per(s.usec) })),
  };
}

// ---------------------------------------------------------------------------------------------
// Throughput

interface TrialResult {
  layout: string;
  workerProcesses: number;
  concurrency: number;
  database: string;
  prefix: string;
  seconds: number;
  messagesPerSecond: number;
  ratioToInProcess: number;
  firstVerdictSeconds: number;
  steadyMessagesPerSecond: number;
  /** When the connector had queued every message (from the timeline, to its resolution). */
  allQueuedSeconds: number | null;
  maxWaiting: number;
  flagged: number;
  scanFailures: number;
  failedJobs: number;
  shutdownSeconds: number;
  exitCodes: Record<string, number | string | null>;
  logs: { errors: number; warnings: number; firstError?: string };
  cpu: CpuUse;
  work: ServerWork;
  timeline: TimelinePoint[];
}

function layoutLabel(layout: Layout): string {
  return `${layout.processes}x${layout.concurrency}`;
}

async function databaseFor(admin: pg.Client, postgres: PostgresServer, name: string): Promise<string> {
  await admin.query(`CREATE DATABASE ${name}`);
  return postgres.url.replace(/\/postgres$/, `/${name}`);
}

const SAMPLE_MS = 250;
const STALL_MS = 90_000;

interface Trial {
  result: TrialResult;
  /** Where it kept its state, for the latency run to carry on from. */
  target: Target;
}

interface Servers {
  postgres: PostgresServer;
  /** A client on the `postgres` database: creates each run's database, reads its counters. */
  admin: pg.Client;
  redisAdmin: Redis;
}

async function runTrial(settings: ClusterSettings, { postgres, admin, redisAdmin }: Servers, layout: Layout, index: number, expected: number, teardown: Teardown): Promise<Trial> {
  const database = `bench_${index + 1}`;
  const prefix = `bench${index + 1}`;
  const target: Target = { storeUrl: await databaseFor(admin, postgres, database), prefix, layout };
  const cluster = new Cluster(settings, target, `trial-${index + 1}-${layoutLabel(layout)}`);
  const db = await connectPostgres(target.storeUrl);
  const queue = openQueue(settings.redisUrl, prefix);
  let stopped = false;
  teardown.add(`trial ${index + 1}`, async () => {
    if (!stopped) await cluster.stop();
    await queue.close();
    await db.end();
  });

  const timeline: TimelinePoint[] = [];
  await resetRedisStats(redisAdmin);
  const countersBefore = await postgresCounters(admin, database);
  const cpuFrom = sampleCpu(cluster.roles);
  await cluster.start();
  const started = performance.now();
  let verdicts = 0;
  let progressAt = performance.now();
  while (verdicts < expected) {
    await sleep(SAMPLE_MS);
    cluster.checkAlive();
    const [count, counts] = await Promise.all([verdictCount(db), queueCounts(queue)]);
    if (count > verdicts) progressAt = performance.now();
    verdicts = count;
    timeline.push({ t: Number(((performance.now() - started) / 1000).toFixed(2)), verdicts, ...counts });
    if (performance.now() - progressAt > STALL_MS) {
      throw new BenchError(`${layoutLabel(layout)}: no verdict for ${STALL_MS / 1000} s at ${verdicts} of ${expected}; queue ${JSON.stringify(counts)}; logs in ${settings.dir}`);
    }
  }
  const cpu = cpuUse(cpuFrom, sampleCpu(cluster.roles), expected);
  const { rows } = await db.query<{ first: Date; last: Date }>(
    `SELECT min(t) AS first, max(t) AS last FROM (SELECT scanned_at AS t FROM messages UNION ALL SELECT failed_at FROM scan_failures) AS verdicts`,
  );
  const firstAt = rows[0]!.first.getTime();
  const lastAt = rows[0]!.last.getTime();
  const flagged = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM flags')).rows[0]?.n ?? 0);
  const scanFailures = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM scan_failures')).rows[0]?.n ?? 0);
  const failedJobs = (await queueCounts(queue)).failed;
  const shutdown = await cluster.stop();
  stopped = true;
  const work = await serverWork(redisAdmin, admin, database, countersBefore, expected);

  const seconds = (lastAt - cluster.spawnedAt) / 1000;
  const messagesPerSecond = expected / seconds;
  const queued = timeline.find((p) => p.waiting + p.active + p.delayed + p.failed + p.completed >= expected);
  const result: TrialResult = {
    layout: layoutLabel(layout),
    workerProcesses: layout.processes,
    concurrency: layout.concurrency,
    database,
    prefix,
    seconds,
    messagesPerSecond,
    ratioToInProcess: 0, // set once the in-process figure is final
    firstVerdictSeconds: (firstAt - cluster.spawnedAt) / 1000,
    steadyMessagesPerSecond: lastAt > firstAt ? (expected - 1) / ((lastAt - firstAt) / 1000) : messagesPerSecond,
    allQueuedSeconds: queued ? queued.t : null,
    maxWaiting: Math.max(0, ...timeline.map((p) => p.waiting)),
    flagged,
    scanFailures,
    failedJobs,
    shutdownSeconds: shutdown.seconds,
    exitCodes: shutdown.exitCodes,
    logs: cluster.logCounts(),
    cpu,
    work,
    timeline,
  };
  return { result, target };
}

// ---------------------------------------------------------------------------------------------
// Latency at a steady offered load

interface Distribution {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
}

function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
  return { p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? 0, min: sorted[0] ?? 0 };
}

interface LatencyResult {
  layout: string;
  offeredPerSecond: number;
  /** Measured messages over the measured window, as the APPENDs really completed. */
  achievedPerSecond: number;
  warmupSeconds: number;
  measuredSeconds: number;
  warmupMessages: number;
  messages: number;
  /** APPENDs that started more than 100 ms after their slot: the offered load fell behind. */
  lateAppends: number;
  latencyMs: Distribution;
  /** Where the time went, per message: APPEND done -> job queued -> job taken by a worker -> verdict recorded. */
  stagesMs: { appendToQueued: Distribution; queuedToTaken: Distribution; takenToVerdict: Distribution } | null;
  maxWaiting: number;
  scanFailures: number;
  idleAfterSeconds: number;
  cpu: CpuUse;
  timeline: TimelinePoint[];
}

/** Samples verdicts (past `before`) and queue depth every SAMPLE_MS until stopped. */
function startTimeline(db: pg.Client, queue: Queue, before: number, cluster: Cluster): { points: TimelinePoint[]; stop(): Promise<void> } {
  const points: TimelinePoint[] = [];
  const started = performance.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      await sleep(SAMPLE_MS);
      if (cluster.members.some((m) => m.exited)) return;
      const [count, counts] = await Promise.all([verdictCount(db), queueCounts(queue)]);
      points.push({ t: Number(((performance.now() - started) / 1000).toFixed(2)), verdicts: count - before, ...counts });
    }
  })();
  return {
    points,
    async stop() {
      running = false;
      await loop;
    },
  };
}

async function runLatency(settings: ClusterSettings, trial: Trial, corpus: Buffer[], options: Options, teardown: Teardown): Promise<LatencyResult> {
  const { target } = trial;
  const rate = trial.result.messagesPerSecond / 2;
  const total = Math.max(1, Math.round(rate * (options.warmupSeconds + options.latencySeconds)));
  const warmupMessages = Math.min(total - 1, Math.round(rate * options.warmupSeconds));
  // New Message-IDs give new message keys: the store has seen every corpus message already.
  const run = randomBytes(4).toString('hex');
  const messages = Array.from({ length: total }, (_, i) => withMessageId(corpus[i % corpus.length]!, `bench-${run}-${i + 1}@latency.kestrel.invalid`));
  const keys = messages.map((raw) => messageKey(raw));

  const cluster = new Cluster(settings, target, `latency-${layoutLabel(target.layout)}`);
  const db = await connectPostgres(target.storeUrl);
  const queue = openQueue(settings.redisUrl, target.prefix);
  let stopped = false;
  teardown.add('latency run', async () => {
    if (!stopped) await cluster.stop();
    await queue.close();
    await db.end();
  });
  const before = await verdictCount(db);
  await cluster.start();
  const startedAt = performance.now();
  await cluster.waitUntilIdle(120_000);
  const idleAfterSeconds = (performance.now() - startedAt) / 1000;
  const clients = await openClients(settings.dovecot, settings.accounts);

  const cpuFrom = sampleCpu(cluster.roles);
  const timeline = startTimeline(db, queue, before, cluster);
  const appended: Appended[] = new Array(total);
  let lateAppends = 0;
  const t0 = performance.now() + 100;
  // Message i is offered at t0 + i/rate, on its account's connection; a slot missed is not made up.
  await Promise.all(
    clients.map(async (client, a) => {
      for (let i = a; i < total; i += settings.accounts) {
        const wait = t0 + (i * 1000) / rate - performance.now();
        if (wait > 0) await sleep(wait);
        else if (wait < -100) lateAppends++;
        appended[i] = await appendOne(client, a, messages[i]!);
      }
    }),
  );
  await closeClients(clients);
  const deadline = Date.now() + 120_000;
  while ((await verdictCount(db)) - before < total) {
    cluster.checkAlive();
    if (Date.now() > deadline) throw new BenchError(`latency run: only ${(await verdictCount(db)) - before} of ${total} verdicts 120 s after the last APPEND; logs in ${settings.dir}`);
    await sleep(100);
  }
  const cpu = cpuUse(cpuFrom, sampleCpu(cluster.roles), total);
  await timeline.stop();

  const { rows } = await db.query<{ key: string; at: Date }>(
    `SELECT message_key AS key, scanned_at AS at FROM messages WHERE message_key = ANY($1::text[])
     UNION ALL SELECT message_key, failed_at FROM scan_failures WHERE message_key = ANY($1::text[])`,
    [keys],
  );
  const verdictAt = new Map(rows.map((row) => [row.key, row.at.getTime()]));
  const scanFailures = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM scan_failures WHERE message_key = ANY($1::text[])', [keys])).rows[0]?.n ?? 0);

  // The job ids the connector gave these messages (the HMAC of their mailbox positions) find their
  // jobs, still kept after completion, and so when each was queued and taken by a worker.
  const jobIdFor = jobIds(Buffer.from(settings.queueKey, 'base64'));
  const measured = Array.from({ length: total - warmupMessages }, (_, j) => warmupMessages + j);
  const latencies: number[] = [];
  const stages = { appendToQueued: [] as number[], queuedToTaken: [] as number[], takenToVerdict: [] as number[] };
  for (let start = 0; start < measured.length; start += 200) {
    const chunk = measured.slice(start, start + 200);
    const jobs = await Promise.all(chunk.map((i) => queue.getJob(jobIdFor({ account: appended[i]!.account, folder: FOLDER, uidValidity: appended[i]!.uidValidity, uid: appended[i]!.uid }))));
    chunk.forEach((i, n) => {
      const done = appended[i]!.doneAt;
      const verdict = verdictAt.get(keys[i]!);
      if (verdict === undefined) throw new BenchError(`latency run: no verdict found for message ${i + 1} (${appended[i]!.account} uid ${appended[i]!.uid})`);
      latencies.push(verdict - done);
      const job = jobs[n];
      if (job?.timestamp && job.processedOn) {
        stages.appendToQueued.push(job.timestamp - done);
        stages.queuedToTaken.push(job.processedOn - job.timestamp);
        stages.takenToVerdict.push(verdict - job.processedOn);
      }
    });
  }
  const shutdown = await cluster.stop();
  stopped = true;
  if (Object.values(shutdown.exitCodes).some((code) => code !== 0)) log(`latency run: exit codes ${JSON.stringify(shutdown.exitCodes)}`);

  const first = appended[warmupMessages]!.doneAt;
  const last = Math.max(...measured.map((i) => appended[i]!.doneAt));
  return {
    layout: layoutLabel(target.layout),
    offeredPerSecond: rate,
    achievedPerSecond: measured.length > 1 ? (measured.length - 1) / ((last - first) / 1000) : rate,
    warmupSeconds: options.warmupSeconds,
    measuredSeconds: options.latencySeconds,
    warmupMessages,
    messages: measured.length,
    lateAppends,
    latencyMs: distribution(latencies),
    stagesMs:
      stages.appendToQueued.length === measured.length
        ? { appendToQueued: distribution(stages.appendToQueued), queuedToTaken: distribution(stages.queuedToTaken), takenToVerdict: distribution(stages.takenToVerdict) }
        : null,
    maxWaiting: Math.max(0, ...timeline.points.map((p) => p.waiting)),
    scanFailures,
    idleAfterSeconds,
    cpu,
    timeline: timeline.points,
  };
}

// ---------------------------------------------------------------------------------------------
// Report

const THROUGHPUT_GOAL = 0.7;
const P99_GOAL_MS = 2_000;

interface Report {
  bench: 'e2e';
  node: string;
  cores: number;
  loadAverageAtStart: number[];
  corpus: string;
  messages: number;
  megabytes: number;
  accounts: number;
  servers: string;
  appendSeconds: number;
  /** The faster of the runs, which the ratios use. */
  inProcess: BaselineResult;
  /** Before and after the cluster trials. */
  inProcessRuns: BaselineResult[];
  trials: TrialResult[];
  latency: LatencyResult;
  goals: {
    throughput: { target: number; layout: string; ratio: number; pass: boolean };
    latencyP99: { targetMs: number; offeredPerSecond: number; p99Ms: number; pass: boolean };
  };
}

const SERVERS = 'Redis 7 (AOF everysec, noeviction), PostgreSQL (fsync off), Dovecot (maildir, mailbox_idle_check_interval 1 s); all on loopback';

function fixed(value: number, digits = 0): string {
  return value.toLocaleString('en-GB', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const PROCESS_GROUPS = ['connector', 'worker', 'redis', 'postgres', 'dovecot', 'bench'];

function cpuLine(label: string, values: Record<string, number>, groups: string[]): string {
  const cells = groups
    .filter((group) => group in values)
    .map((group) => {
      const main = values[`${group}${MAIN_THREAD}`];
      return `${group} ${values[group]!.toFixed(2)}${main === undefined ? '' : ` (main ${main.toFixed(2)})`}`;
    });
  return `  ${label.padEnd(22)} ${cells.join('  ')}`;
}

/** The timeline at about one point per second, at most 30 lines. */
function timelineLines(points: TimelinePoint[]): string[] {
  if (points.length === 0) return [];
  const step = Math.max(1, Math.round(1000 / SAMPLE_MS), Math.ceil(points.length / 30));
  const picked = points.filter((_, i) => i % step === step - 1 || i === points.length - 1);
  return [
    `  ${'t s'.padStart(6)} ${'verdicts'.padStart(9)} ${'waiting'.padStart(8)} ${'active'.padStart(7)} ${'done jobs'.padStart(10)}`,
    ...picked.map((p) => `  ${p.t.toFixed(1).padStart(6)} ${String(p.verdicts).padStart(9)} ${String(p.waiting).padStart(8)} ${String(p.active).padStart(7)} ${String(p.completed).padStart(10)}`),
  ];
}

function render(report: Report): string {
  const { inProcess, trials, latency, goals } = report;
  const row = (label: string, msgs: number, ratio: string, seconds: number, first: number, steady: number) =>
    `  ${label.padEnd(34)} ${fixed(msgs).padStart(7)} ${ratio.padStart(9)} ${seconds.toFixed(1).padStart(7)} ${first.toFixed(2).padStart(9)} ${fixed(steady).padStart(9)}`;
  const best = trials.find((t) => t.layout === goals.throughput.layout)!;
  const cpuRuns: Array<[string, CpuUse]> = [
    ...report.inProcessRuns.map((run, i): [string, CpuUse] => [`in-process, ${i === 0 ? 'before' : 'after'}`, run.cpu]),
    ...trials.map((t): [string, CpuUse] => [`e2e ${t.layout}`, t.cpu]),
    [`latency run, ${latency.layout}`, latency.cpu],
  ];
  const d = (x: Distribution) => `p50 ${fixed(x.p50)}  p95 ${fixed(x.p95)}  p99 ${fixed(x.p99)}  max ${fixed(x.max)}  (min ${fixed(x.min)})`;
  const lines = [
    `kestrel bench:e2e: ${report.messages} messages (${report.megabytes} MB) from ${report.corpus}`,
    `${report.cores} cores, Node ${report.node}, load average at start ${report.loadAverageAtStart.map((l) => l.toFixed(2)).join(' ')}`,
    `servers: ${SERVERS}; they, the connector, the workers and this script share the same ${report.cores} cores`,
    `${report.accounts} accounts (INBOX and Sent each), messages spread over their INBOXes; APPEND of all took ${report.appendSeconds.toFixed(1)} s (not timed)`,
    '',
    `THROUGHPUT                           msg/s  vs in-proc  wall s  1st s    steady/s`,
    ...report.inProcessRuns.map((run, i) =>
      row(
        `in-process, ${run.threads} threads, ${i === 0 ? 'before' : 'after'}`,
        run.messagesPerSecond,
        (run.messagesPerSecond / inProcess.messagesPerSecond).toFixed(2),
        run.seconds,
        run.firstResultSeconds,
        run.steadyMessagesPerSecond,
      ),
    ),
    ...trials.map((t) => row(`e2e ${t.workerProcesses} worker${t.workerProcesses > 1 ? 's' : ''} x concurrency ${t.concurrency}`, t.messagesPerSecond, t.ratioToInProcess.toFixed(2), t.seconds, t.firstVerdictSeconds, t.steadyMessagesPerSecond)),
    `  (wall s: from the start (process spawn for e2e, lexicon load for in-process) to the last verdict; 1st s: to the first`,
    `   verdict; steady/s: first to last. Ratios are to the faster in-process run, measured before and after the trials.)`,
    '',
    `  in-process: ${inProcess.flagged} flagged, ${inProcess.failed} failed`,
    ...trials.map(
      (t) =>
        `  e2e ${t.layout}: ${t.flagged} flagged, ${t.scanFailures} scan failures, ${t.failedJobs} failed jobs; all queued by ${t.allQueuedSeconds?.toFixed(1) ?? '?'} s, at most ${t.maxWaiting} waiting; ` +
        `stopped in ${t.shutdownSeconds.toFixed(1)} s (exit ${Object.values(t.exitCodes).join('/')}); logs: ${t.logs.errors} errors, ${t.logs.warnings} warnings`,
    ),
    ...trials.flatMap((t) => (t.logs.firstError ? [`    first error: ${t.logs.firstError}`] : [])),
    '',
    'SERVER WORK PER MESSAGE (round trips are most of what the plumbing costs)',
    ...trials.map(
      (t) =>
        `  e2e ${t.layout}: PostgreSQL ${t.work.postgresTransactions} transactions, ${t.work.postgresRowsWritten} rows written; Redis ${t.work.redisCommands} commands, ` +
        `most time in ${t.work.redisTop.map((c) => `${c.command} ${c.calls}x ${c.usec} us`).join(', ')}`,
    ),
    '',
    'CPU, average cores in use (main: the main thread of that process; the rest is its scan threads, GC and libuv;',
    ' other: processes on this machine outside this benchmark, which slow every figure above down)',
    ...cpuRuns.map(([label, cpu]) => cpuLine(label, cpu.cores, [...PROCESS_GROUPS, 'other', 'total'])),
    '',
    'CPU time per message, ms (ours: everything this benchmark started; robust to other load, unlike msg/s)',
    ...cpuRuns.map(([label, cpu]) => cpuLine(label, cpu.msPerMessage, ['ours', ...PROCESS_GROUPS])),
    '',
    `QUEUE AND VERDICTS OVER TIME, e2e ${best.layout}`,
    ...timelineLines(best.timeline),
    '',
    `LATENCY, APPEND done -> verdict in PostgreSQL (scanned_at), ${latency.layout}, offered ${fixed(latency.offeredPerSecond)} msg/s (half of ${fixed(best.messagesPerSecond)}), achieved ${fixed(latency.achievedPerSecond)} msg/s`,
    `  ${latency.messages} messages over ${latency.measuredSeconds} s after ${latency.warmupMessages} warm-up messages (${latency.warmupSeconds} s) on a cluster restarted on the trial's state (idle after ${latency.idleAfterSeconds.toFixed(1)} s)`,
    `  ms: ${d(latency.latencyMs)}`,
    ...(latency.stagesMs
      ? [
          `  APPEND -> queued  ${d(latency.stagesMs.appendToQueued)}   (Dovecot's IDLE notice, fetch, encrypt, add)`,
          `  queued -> taken   ${d(latency.stagesMs.queuedToTaken)}   (waiting in the queue)`,
          `  taken -> verdict  ${d(latency.stagesMs.takenToVerdict)}   (lookups, claim, scan, spread, record)`,
        ]
      : ['  (per-stage times unavailable: some jobs were not found in Redis)']),
    `  at most ${latency.maxWaiting} jobs waiting; ${latency.lateAppends} APPENDs started over 100 ms late; ${latency.scanFailures} scan failures`,
    `  Dovecot tells an IDLE client of new mail about 0.5 s after the change (the harness checks every 1 s): that delay is part of what a user would see, and is in these figures.`,
    '',
    'GOALS',
    `  e2e throughput >= ${THROUGHPUT_GOAL * 100}% of in-process (best layout ${goals.throughput.layout}): ${(goals.throughput.ratio * 100).toFixed(0)}%  ${goals.throughput.pass ? 'PASS' : 'FAIL'}`,
    `  p99 latency < ${P99_GOAL_MS / 1000} s at ${fixed(goals.latencyP99.offeredPerSecond)} msg/s: ${fixed(goals.latencyP99.p99Ms)} ms  ${goals.latencyP99.pass ? 'PASS' : 'FAIL'}`,
    `  CPU per message: e2e ${best.layout} ${best.cpu.msPerMessage.ours!.toFixed(1)} ms, in-process ${inProcess.cpu.msPerMessage.ours!.toFixed(1)} ms: while the cores are the limit,`,
    `  the cluster can reach at most about ${((inProcess.cpu.msPerMessage.ours! / best.cpu.msPerMessage.ours!) * 100).toFixed(0)}% of the in-process throughput on these cores, whatever else runs on them`,
  ];
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Main

async function bench(options: Options, corpus: Buffer[], expected: number, teardown: Teardown, dir: string): Promise<Report> {
  const loadAverageAtStart = loadavg();
  const users = Array.from({ length: options.accounts }, (_, a) => ({ name: userName(a), password: PASSWORD }));
  log('starting Redis, PostgreSQL and Dovecot');
  const redis: RedisServer = await startRedis({ aof: 'everysec' });
  teardown.add('Redis', () => redis.stop());
  const postgres = await startPostgres();
  teardown.add('PostgreSQL', () => postgres.stop());
  const dovecot = await startDovecot({ users });
  teardown.add('Dovecot', () => dovecot.stop());
  const admin = await connectPostgres(postgres.url);
  teardown.add('PostgreSQL client', () => admin.end());
  const redisAdmin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  redisAdmin.on('error', () => {}); // a failed command reports it where it is awaited
  teardown.add('Redis client', async () => void (await redisAdmin.quit()));

  const settings: ClusterSettings = { root: options.root, dir, dovecot, redisUrl: redis.url, queueKey: randomBytes(32).toString('base64'), accounts: options.accounts };
  const cores = availableParallelism();
  const sharedConfig = configText(settings, { storeUrl: postgres.url, prefix: 'in-process', layout: { processes: 1, concurrency: cores } }, false);

  const inProcessRuns: BaselineResult[] = [];
  const measureInProcess = async () => {
    log(`in-process pipeline over ${corpus.length} messages on ${cores} threads`);
    inProcessRuns.push(await runBaseline(options.root, join(dir, 'in-process.yaml'), sharedConfig, corpus));
    log(`  ${fixed(inProcessRuns.at(-1)!.messagesPerSecond)} msg/s`);
  };
  await measureInProcess();

  log(`APPEND ${corpus.length} messages to ${options.accounts} INBOXes`);
  const appendSeconds = await appendAll(dovecot, options.accounts, corpus);

  const trials: Trial[] = [];
  for (const [index, layout] of options.layouts.entries()) {
    log(`e2e ${layoutLabel(layout)}: 1 connector, ${layout.processes} worker process(es) with concurrency ${layout.concurrency}`);
    const trial = await runTrial(settings, { postgres, admin, redisAdmin }, layout, index, expected, teardown);
    log(`  ${fixed(trial.result.messagesPerSecond)} msg/s`);
    trials.push(trial);
  }
  // Measured again after the trials, so a busy spell on the machine during one run is visible;
  // the ratios use the faster run, which never flatters the cluster.
  await measureInProcess();
  const inProcess = inProcessRuns.reduce((a, b) => (b.messagesPerSecond > a.messagesPerSecond ? b : a));
  for (const { result } of trials) result.ratioToInProcess = result.messagesPerSecond / inProcess.messagesPerSecond;
  const best = trials.reduce((a, b) => (b.result.messagesPerSecond > a.result.messagesPerSecond ? b : a));

  log(`latency: ${layoutLabel(best.target.layout)} at ${fixed(best.result.messagesPerSecond / 2)} msg/s for ${options.warmupSeconds} + ${options.latencySeconds} s`);
  const latency = await runLatency(settings, best, corpus, options, teardown);

  return {
    bench: 'e2e',
    node: process.version,
    cores,
    loadAverageAtStart,
    corpus: options.corpus,
    messages: corpus.length,
    megabytes: Number((corpus.reduce((n, raw) => n + raw.length, 0) / 1e6).toFixed(1)),
    accounts: options.accounts,
    servers: SERVERS,
    appendSeconds,
    inProcess,
    inProcessRuns,
    trials: trials.map((t) => t.result),
    latency,
    goals: {
      throughput: { target: THROUGHPUT_GOAL, layout: best.result.layout, ratio: best.result.ratioToInProcess, pass: best.result.ratioToInProcess >= THROUGHPUT_GOAL },
      latencyP99: { targetMs: P99_GOAL_MS, offeredPerSecond: latency.offeredPerSecond, p99Ms: latency.latencyMs.p99, pass: latency.latencyMs.p99 < P99_GOAL_MS },
    },
  };
}

async function main(): Promise<void> {
  const options = readOptions();
  requireBuild(options.root);
  const corpus = loadCorpus(options.corpus, options.limit);
  // Copies of one message share a key and get one verdict.
  const expected = new Set(corpus.map((raw) => messageKey(raw))).size;
  if (expected < corpus.length) log(`${corpus.length - expected} messages repeat another's message key: expecting ${expected} verdicts`);

  const teardown = new Teardown();
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-bench-e2e-'));
  let keepDir = true;
  teardown.add('work dir', () => {
    if (keepDir) log(`configs and process logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // Ctrl-C often arrives twice (from the terminal, and relayed by tsx): the teardown runs once, to the end.
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the cluster and the servers`);
    void teardown.run().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let report: Report;
  try {
    report = await bench(options, corpus, expected, teardown, dir);
    keepDir = false;
  } finally {
    await teardown.run();
  }
  process.stdout.write(render(report));
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:e2e: ${error instanceof BenchError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
