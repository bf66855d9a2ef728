/**
 * Producer -> Redis -> scan worker -> flag store, all real: a redis-server from the harness, the
 * PGlite store, and scan threads running workers/scan-worker.ts. Each test has its own queue prefix.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KestrelConfig } from '../../src/config/schema.js';
import type { FetchedMessage } from '../../src/connect/types.js';
import { messageKey } from '../../src/flags/message-key.js';
import { openFlagStore } from '../../src/flags/open.js';
import type { SqlFlagStore } from '../../src/flags/store.js';
import { createMetrics, type KestrelMetrics } from '../../src/ops/metrics.js';
import { startScanWorker, type ScanWorker } from '../../src/queue/consumer.js';
import { openQueueSink, type QueueSink } from '../../src/queue/producer.js';
import { QUEUE_SIZE_CAP_REASON } from '../../src/connect/oversize.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { capturingLogger, CLEAN_BODY, FLAGGED_BODY, inspect, MARKER, message, newKey, queueConfig, SENDER, settled, uniquePrefix } from './helpers.js';
import { metricValue, waitFor } from '../helpers/wait.js';

let server: RedisServer;
let store: SqlFlagStore;
let dataDir: string;
const closing: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  server = await startRedis();
  dataDir = mkdtempSync(join(tmpdir(), 'kestrel-queue-store-'));
  store = await openFlagStore({ dataDir }, capturingLogger().logger);
});
afterEach(async () => {
  // Workers first: they finish with the sinks' jobs before the connections go.
  for (const c of closing.splice(0).reverse()) await c.close();
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Rig {
  config: KestrelConfig;
  sink: QueueSink;
  queue: Queue;
  metrics: KestrelMetrics;
  startWorker(config?: KestrelConfig): Promise<ScanWorker>;
}

async function rig(yaml = ''): Promise<Rig> {
  const config = queueConfig({ redisUrl: server.url, key: newKey(), prefix: uniquePrefix(), dataDir, yaml: `workers:\n  concurrency: 1\n${yaml}` });
  const sink = await openQueueSink({ config, logger: capturingLogger().logger });
  const queue = inspect(config);
  closing.push(sink, queue);
  const metrics = createMetrics();
  return {
    config,
    sink,
    queue,
    metrics,
    async startWorker(workerConfig = config) {
      const worker = await startScanWorker({ config: workerConfig, store, metrics, logger: capturingLogger().logger, depthIntervalMs: 100 });
      closing.push(worker);
      return worker;
    },
  };
}

async function queueAndWait(r: Rig, ...messages: FetchedMessage[]): Promise<string[]> {
  for (const m of messages) await r.sink.accept(m);
  const ids = [...new Set(messages.map((m) => r.sink.jobId(m)))];
  for (const id of ids) expect(await settled(r.queue, id)).toBe('completed');
  return ids;
}

/** Plain text of about `mb` MiB: a scan of it takes a while, and it compresses well in the queue. */
function bigBody(mb: number): string {
  const block = `${Array.from({ length: 2000 }, (_, i) => `w${(i * 7919) % 100_003}x`).join(' ')}.\n`;
  return block.repeat(Math.ceil((mb * 1024 * 1024) / block.length));
}

describe('scan worker', () => {
  it('scans a flagged message once and records one flag, however often it is queued', async () => {
    const r = await rig();
    await r.startWorker();
    const m = message('flag-once', FLAGGED_BODY, { uid: 11, receivedAt: '2026-11-20T09:31:00.000Z' });
    const [jobId] = await queueAndWait(r, m, m);
    const job = await r.queue.getJob(jobId!);
    expect(job?.returnvalue).toEqual({ flagId: expect.any(Number), created: true, duplicate: false });
    // Queued again after it finished (the job is kept for an hour): the store knows it.
    await r.sink.accept(m);
    const flagId = job!.returnvalue.flagId as number;
    const flag = await store.flag(flagId);
    expect(flag?.report.findings.map((f) => f.rule)).toEqual(['self_harm.intent']);
    expect(flag?.occurrences).toEqual([{ account: 'acct-quokka', folder: 'INBOX/quokka-folder', uidValidity: '1700000000', uid: 11, seenAt: new Date('2026-11-20T09:31:00.000Z') }]);
    expect(await metricValue(r.metrics, 'kestrel_messages_scanned_total', { outcome: 'flagged' })).toBe(1);
    expect(await metricValue(r.metrics, 'kestrel_messages_flagged_total', { category: 'safety.self_harm' })).toBe(1);
    expect(await metricValue(r.metrics, 'kestrel_scan_latency_seconds', {}, 'kestrel_scan_latency_seconds_count')).toBe(1);
  });

  it('scans the same message from two mailboxes once and records both occurrences', async () => {
    const r = await rig();
    await r.startWorker();
    const sent = message('two-boxes', FLAGGED_BODY, { account: 'sender-acct', folder: 'Sent', role: 'sent', uid: 3 });
    const inbox = message('two-boxes', FLAGGED_BODY, { account: 'recipient-acct', folder: 'INBOX', uid: 9 });
    const [first, second] = await queueAndWait(r, sent, inbox);
    const firstResult = (await r.queue.getJob(first!))!.returnvalue;
    expect((await r.queue.getJob(second!))!.returnvalue).toEqual({ flagId: firstResult.flagId, created: false, duplicate: true });
    const flag = await store.flag(firstResult.flagId as number);
    expect(flag?.occurrences.map((o) => `${o.account}/${o.folder}/${o.uid}`).sort()).toEqual(['recipient-acct/INBOX/9', 'sender-acct/Sent/3']);
    expect(await metricValue(r.metrics, 'kestrel_messages_scanned_total')).toBe(1);
    expect(await metricValue(r.metrics, 'kestrel_messages_deduplicated_total')).toBe(1);
  });

  it('keeps only the key of a clean message, and records parts the connector left behind', async () => {
    const r = await rig();
    await r.startWorker();
    const clean = message('clean', CLEAN_BODY, { uid: 21 });
    const [jobId] = await queueAndWait(r, clean);
    expect((await r.queue.getJob(jobId!))!.returnvalue).toEqual({ flagId: null, created: true, duplicate: false });
    expect(await store.priorScan(messageKey(clean.raw))).toEqual({ flagId: null });
    expect(await metricValue(r.metrics, 'kestrel_messages_scanned_total', { outcome: 'clean' })).toBe(1);

    const partial = message('partial', FLAGGED_BODY, { uid: 22, skippedParts: [{ contentType: 'video/mp4', size: 30 * 1024 * 1024 }] });
    const [partialJob] = await queueAndWait(r, partial);
    const flag = await store.flag((await r.queue.getJob(partialJob!))!.returnvalue.flagId as number);
    expect(flag?.report.attachmentsNotScanned).toEqual([{ contentType: 'video/mp4', size: 30 * 1024 * 1024, reason: QUEUE_SIZE_CAP_REASON }]);
    expect(flag?.report.problems).toContain('message over the 25.0 MB queue limit: 1 attachment(s), 30.0 MB, not scanned');
  });

  it('leaves a job that always fails in the failed set with its reason after queue.attempts tries', async () => {
    // 32 MB of heap cannot take an 11 MB message: the pool refuses it every time, before any thread.
    const r = await rig('scan:\n  memoryMb: 32');
    await r.startWorker();
    const m = message('too-big', bigBody(11), { uid: 31 });
    await r.sink.accept(m);
    const jobId = r.sink.jobId(m);
    expect(await settled(r.queue, jobId)).toBe('failed');
    const job = await r.queue.getJob(jobId);
    expect(job?.attemptsMade).toBe(3);
    expect(job?.failedReason).toMatch(/^scan exceeded the 32 MB memory limit \(a 11\.\d MB message needs more\)$/);
    expect(await metricValue(r.metrics, 'kestrel_messages_scanned_total', { outcome: 'failed' })).toBe(1);
    // Redis holds work in flight only: the store keeps the failure in view too.
    const failure = (await store.scanFailures()).find((f) => f.account === m.account && f.uid === 31);
    expect(failure?.reason).toBe(job?.failedReason);
    await waitFor('the queue depth gauge', async () => (await metricValue(r.metrics, 'kestrel_queue_jobs', { state: 'failed' })) === 1);
  });

  it('fails a tampered job at once, naming it, without retries', async () => {
    const r = await rig();
    const m = message('tampered', FLAGGED_BODY, { uid: 41 });
    await r.sink.accept(m);
    const jobId = r.sink.jobId(m);
    const redis = new Redis(server.url);
    const key = `${r.config.queue.prefix}:scan:${jobId}`;
    const data = JSON.parse((await redis.hget(key, 'data'))!) as { v: number; sealed: string };
    const sealed = Buffer.from(data.sealed, 'base64');
    sealed[sealed.length >> 1]! ^= 0x01;
    await redis.hset(key, 'data', JSON.stringify({ ...data, sealed: sealed.toString('base64') }));
    redis.disconnect();

    await r.startWorker();
    expect(await settled(r.queue, jobId)).toBe('failed');
    const job = await r.queue.getJob(jobId);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toBe(`job ${jobId}: the message does not authenticate (queued with a different queue.key, or altered in Redis)`);
  });

  it('fails a job sealed with another queue.key without retries', async () => {
    const r = await rig();
    const m = message('wrong-key', FLAGGED_BODY, { uid: 42 });
    await r.sink.accept(m);
    await r.startWorker({ ...r.config, queue: { ...r.config.queue, key: { value: newKey() } } });
    const jobId = r.sink.jobId(m);
    expect(await settled(r.queue, jobId)).toBe('failed');
    expect((await r.queue.getJob(jobId))?.attemptsMade).toBe(1);
    expect(await store.priorScan(messageKey(m.raw))).toBeNull();
  });

  it('finishes the jobs in hand when closed, and takes no more', async () => {
    const r = await rig();
    const worker = await r.startWorker();
    // The worker holds two jobs per scan thread: one scanning, one waiting for the thread.
    const slow = [51, 53].map((uid) => message(`slow-${uid}`, `${FLAGGED_BODY}\n${bigBody(4)}`, { uid }));
    const next = message('next', CLEAN_BODY, { uid: 52 });
    for (const m of slow) await r.sink.accept(m);
    await waitFor('both slow jobs to be taken', async () => (await Promise.all(slow.map((m) => r.queue.getJobState(r.sink.jobId(m))))).every((s) => s === 'active'));
    await r.sink.accept(next);
    const closeCalledAt = Date.now();
    await worker.close();
    for (const m of slow) {
      const job = await r.queue.getJob(r.sink.jobId(m));
      expect(await job?.getState()).toBe('completed');
      expect(job!.returnvalue.flagId).toEqual(expect.any(Number));
    }
    const last = await r.queue.getJob(r.sink.jobId(slow[1]!));
    expect(last!.finishedOn).toBeGreaterThanOrEqual(closeCalledAt);
    expect(await r.queue.getJobState(r.sink.jobId(next))).toBe('waiting');
  });

  it('leaves nothing from the messages in Redis in clear', async () => {
    // Runs last: by now this redis-server holds waiting, completed and failed jobs of every test above.
    const r = await rig();
    await r.sink.accept(message('at-rest', FLAGGED_BODY, { uid: 61 }));
    const redis = new Redis(server.url);
    await redis.set('control', `a plain ${MARKER} from ${SENDER}`);
    const text: string[] = [];
    for (const key of await redis.keys('*')) {
      const type = await redis.type(key);
      if (type === 'string') text.push((await redis.get(key))!);
      else if (type === 'hash') text.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') text.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') text.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') text.push(JSON.stringify(await redis.zrange(key, '0', '-1')));
      else if (type === 'stream') text.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      else text.push((await redis.dumpBuffer(key)).toString('latin1'));
    }
    redis.disconnect();
    const all = text.join('\n');
    expect(all.split(MARKER).length - 1).toBe(1); // the control key only: the search does find plain text
    expect(all.split(SENDER).length - 1).toBe(1);
    expect(all.split('oakfield.sch.uk').length - 1).toBe(1); // no recipient, no Message-ID
    for (const clear of ['kill myself', 'packed lunch', 'acct-quokka', 'quokka-folder', 'sender-acct', 'recipient-acct']) expect(all).not.toContain(clear);
  });
});
