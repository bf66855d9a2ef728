/**
 * The scan pool with real worker threads: under vitest each thread runs workers/scan-worker.ts
 * through tsx, so these tests exercise the same sources as the rest of the suite.
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ScanLimitError, ScanPool, type RecycleReason, type ScanPoolOptions } from '../../src/scan/pool.js';

function config(scan = ''): ReturnType<typeof parseConfig> {
  // Fixed rules (test/fixtures/lexicons) so these tests do not move as the shipped lexicons are tuned.
  return parseConfig('test/scan/kestrel.yaml', `trust:\n  domains: [oakfield.sch.uk]\nbuiltinLexicons: false\nlexicons: [../fixtures/lexicons]\n${scan}`);
}

function message(id: string, body: string): Buffer {
  return Buffer.from(`From: 22amorgan@oakfield.sch.uk\nTo: k.patel@oakfield.sch.uk\nSubject: note\nMessage-ID: <${id}@oakfield.sch.uk>\n\n${body}\n`);
}

const FLAGGED_BODY = 'honestly i just want to kill myself';
const CLEAN_BODY = 'Please bring a packed lunch for the trip on Friday.';

/**
 * A plain-text message of about `mb` MiB of varied words (5,000 different ones, in sentences):
 * far more text than a thread can parse and tokenise inside a short time or a small heap.
 */
function hugeMessage(mb: number): Buffer {
  const block = `${Array.from({ length: 5000 }, (_, i) => `w${(i * 7919) % 100_003}x`).join(' ')}.\n`;
  const body = block.repeat(Math.ceil((mb * 1024 * 1024) / block.length));
  return Buffer.from(`From: a@example.org\nTo: b@example.org\nSubject: big\nContent-Type: text/plain; charset=utf-8\n\n${body}`);
}

/** The pool's threads. It has no public view of them, and there is no other way to watch one end. */
function workersOf(pool: ScanPool): Worker[] {
  return (pool as unknown as { slots: Array<{ worker: Worker }> }).slots.map((slot) => slot.worker);
}

function exited(worker: Worker): Promise<void> {
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

/** What became of a scan, without leaving a rejection unhandled while the test waits on something else. */
function outcome(scan: Promise<unknown>): Promise<string> {
  return scan.then(
    () => 'scanned',
    (error: unknown) => (error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)),
  );
}

const pools: ScanPool[] = [];

function openPool(scan: string, threads: number, recycling: Omit<ScanPoolOptions, 'config' | 'threads'> = {}): ScanPool {
  const pool = new ScanPool({ config: config(scan), threads, ...recycling });
  pools.push(pool);
  return pool;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('ScanPool', () => {
  it('scans many messages on two threads, each report answering its own message', async () => {
    const pool = openPool('', 2);
    expect(workersOf(pool)).toHaveLength(2);
    const count = 40;
    const reports = await Promise.all(
      Array.from({ length: count }, (_, i) => pool.scan(message(`m${i}`, i % 3 === 0 ? FLAGGED_BODY : CLEAN_BODY))),
    );
    expect(reports.map((r) => r.messageId)).toEqual(Array.from({ length: count }, (_, i) => `<m${i}@oakfield.sch.uk>`));
    expect(reports.map((r) => r.flagged)).toEqual(Array.from({ length: count }, (_, i) => i % 3 === 0));
    expect(reports[0]!.findings.map((f) => f.rule)).toEqual(['self_harm.intent']);
  });

  it('leaves the caller’s buffer intact, so it can be scanned again', async () => {
    const pool = openPool('', 1);
    // Over 4 KiB, so Buffer.from gives it a memory block of its own rather than a slice of a shared pool.
    const raw = message('again', `${CLEAN_BODY} `.repeat(100) + FLAGGED_BODY);
    expect(raw.byteOffset === 0 && raw.byteLength === raw.buffer.byteLength).toBe(true);
    const copy = Buffer.from(raw);
    const first = await pool.scan(raw);
    expect(raw.equals(copy)).toBe(true);
    const second = await pool.scan(raw);
    expect(first.flagged).toBe(true);
    expect(second.findings).toEqual(first.findings);
  });

  it('ends a message that overruns scan.timeoutMs with a ScanLimitError and replaces its thread', async () => {
    const pool = openPool('scan:\n  timeoutMs: 300\n', 1);
    await pool.scan(message('warm', CLEAN_BODY)); // the thread is up before the clock matters
    const [original] = workersOf(pool);
    const originalExited = exited(original!);

    const huge = hugeMessage(30);
    const error = await pool.scan(huge).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ScanLimitError);
    expect((error as Error).message).toBe('scan took longer than the 300 ms limit');

    // Sent at once, while the overrunning thread may still be shutting down.
    const after = await pool.scan(message('after', FLAGGED_BODY));
    expect(after.messageId).toBe('<after@oakfield.sch.uk>');
    expect(after.flagged).toBe(true);
    await originalExited;
    expect(workersOf(pool)).toHaveLength(1);
    expect(workersOf(pool)[0]).not.toBe(original);
  });

  it('ends a message that needs more heap than scan.memoryMb with a ScanLimitError and carries on', async () => {
    // Ten MiB of text decodes to strings and tokens that exceed a 32 MiB heap: V8 stops the thread
    // (ERR_WORKER_OUT_OF_MEMORY). The time bound is out of reach so that memory is what ends it.
    const pool = openPool('scan:\n  memoryMb: 32\n  timeoutMs: 60000\n', 1);
    await pool.scan(message('warm', CLEAN_BODY)); // a 32 MiB thread can load the lexicons and scan ordinary mail
    const [original] = workersOf(pool);

    const error = await pool.scan(hugeMessage(10)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ScanLimitError);
    expect((error as Error).message).toBe('scan exceeded the 32 MB memory limit');

    const after = await pool.scan(message('after', FLAGGED_BODY));
    expect(after.flagged).toBe(true);
    expect(workersOf(pool)[0]).not.toBe(original);
  });

  it('refuses a message too large for the heap before a thread takes it, and carries on', async () => {
    // A thread that hits its limit allocating a Buffer's backing store would take the process down.
    const pool = openPool('scan:\n  memoryMb: 32\n  timeoutMs: 60000\n', 1);
    await pool.scan(message('warm', CLEAN_BODY));
    const [original] = workersOf(pool);
    await expect(pool.scan(hugeMessage(30))).rejects.toThrow(/^scan exceeded the 32 MB memory limit \(a 30\.\d MB message needs more\)$/);
    expect((await pool.scan(message('after', FLAGGED_BODY))).flagged).toBe(true);
    expect(workersOf(pool)[0]).toBe(original);
    await pool.close();
  });

  it('close() rejects queued and in-flight work, terminates its threads and refuses more', async () => {
    const pool = openPool('scan:\n  timeoutMs: 60000\n', 1);
    await pool.scan(message('warm', CLEAN_BODY));
    const threadsExited = workersOf(pool).map(exited);

    const inFlight = outcome(pool.scan(hugeMessage(30))); // takes the only thread for over a second
    const queued = [outcome(pool.scan(message('q1', CLEAN_BODY))), outcome(pool.scan(message('q2', FLAGGED_BODY)))];
    await pool.close();

    expect(await Promise.all(queued)).toEqual(['Error: scan pool closed', 'Error: scan pool closed']);
    expect(await inFlight).toBe('Error: scan pool closed');
    await Promise.all(threadsExited);
    expect(workersOf(pool)).toEqual([]);
    expect(await outcome(pool.scan(message('late', CLEAN_BODY)))).toBe('Error: scan pool is closed');
  });

  it('fails every message plainly when its threads cannot start', async () => {
    const pool = new ScanPool({ config: { ...config(), lexicons: ['/nonexistent/kestrel-lexicons'] }, threads: 2 });
    pools.push(pool);
    const first = await outcome(pool.scan(message('a', CLEAN_BODY)));
    expect(first).toMatch(/^Error: scan worker failed to start: /);
    expect(first).toContain('/nonexistent/kestrel-lexicons');
    expect(await outcome(pool.scan(message('b', CLEAN_BODY)))).toBe(first);
  });

  it('recycles a thread after recycleAfterJobs messages, between messages, failing none', async () => {
    const recycled: RecycleReason[] = [];
    const pool = openPool('', 1, { recycleAfterJobs: 3, onRecycle: (reason) => recycled.push(reason) });
    const threads = new Set<Worker>();
    for (let i = 0; i < 7; i++) {
      const report = await pool.scan(message(`r${i}`, i % 2 === 0 ? FLAGGED_BODY : CLEAN_BODY));
      expect(report.messageId).toBe(`<r${i}@oakfield.sch.uk>`);
      expect(report.flagged).toBe(i % 2 === 0);
      threads.add(workersOf(pool)[0]!);
    }
    // Messages 1-3 on the first thread, 4-6 on the second, 7 on the third.
    expect(recycled).toEqual(['jobs', 'jobs']);
    expect(threads.size).toBe(3);
    expect(workersOf(pool)).toHaveLength(1);
  });

  it('recycles threads under load without failing or losing a queued message', async () => {
    const recycled: RecycleReason[] = [];
    const pool = openPool('', 2, { recycleAfterJobs: 4, onRecycle: (reason) => recycled.push(reason) });
    const count = 12;
    const reports = await Promise.all(Array.from({ length: count }, (_, i) => pool.scan(message(`l${i}`, i % 3 === 0 ? FLAGGED_BODY : CLEAN_BODY))));
    expect(reports.map((r) => r.messageId)).toEqual(Array.from({ length: count }, (_, i) => `<l${i}@oakfield.sch.uk>`));
    expect(reports.map((r) => r.flagged)).toEqual(Array.from({ length: count }, (_, i) => i % 3 === 0));
    // 12 messages, at most 4 per thread; the two threads left at the end hold at most 3 each: at least 2 replacements.
    expect(recycled.length).toBeGreaterThanOrEqual(2);
    expect(workersOf(pool)).toHaveLength(2);
  });

  it('recycles a thread whose heap has passed recycleHeapMb after a message', async () => {
    const recycled: RecycleReason[] = [];
    // Any thread that has loaded its lexicons holds more than 1 MB, so each message retires its thread.
    const pool = openPool('', 1, { recycleHeapMb: 1, onRecycle: (reason) => recycled.push(reason) });
    const first = workersOf(pool)[0]!;
    const firstExited = exited(first);
    expect((await pool.scan(message('h1', FLAGGED_BODY))).flagged).toBe(true);
    await firstExited;
    expect((await pool.scan(message('h2', CLEAN_BODY))).flagged).toBe(false);
    expect(recycled).toEqual(['heap', 'heap']);
    expect(workersOf(pool)[0]).not.toBe(first);
  });

  it('keeps its threads without the recycling options, as `kestrel scan` expects', async () => {
    const pool = openPool('', 1);
    const [thread] = workersOf(pool);
    for (let i = 0; i < 5; i++) await pool.scan(message(`k${i}`, CLEAN_BODY));
    expect(workersOf(pool)[0]).toBe(thread);
  });
});
