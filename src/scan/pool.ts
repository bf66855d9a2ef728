/**
 * A pool of scan worker threads. Each message gets a time bound and each thread a heap ceiling:
 * a message that overruns either is reported as failed, its thread replaced, and the run goes on.
 * Long-lived pools (queue workers) also recycle threads between messages, after a number of
 * messages or once a thread's heap has grown past a mark, because long-lived scanners leak.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KestrelConfig } from '../config/schema.js';
import type { JournalEnvelope } from '../connect/types.js';
import { PACKAGE_ROOT } from '../paths.js';
import { loadLexicon, type ScanReport } from './pipeline.js';

export interface WorkerRequest {
  id: number;
  raw: Uint8Array;
  envelope?: JournalEnvelope;
}
/** `heapUsed`: the thread's V8 heap in bytes after the message, for recycling. */
export type WorkerReply = ({ id: number; report: ScanReport } | { id: number; error: string }) & { heapUsed: number };

/** Why a thread was replaced between messages. */
export type RecycleReason = 'jobs' | 'heap';

const RESPAWN_DELAY_MS = 1_000;

/** The message hit a per-message bound (time or memory) rather than failing to parse. */
export class ScanLimitError extends Error {}

/** Heap a message can take while it is decoded and analysed, per raw byte (UTF-16 text, copies). */
const HEAP_BYTES_PER_RAW_BYTE = 3;

export function formatMb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

export interface ScanPoolOptions {
  config: KestrelConfig;
  /** Worker threads; defaults to config.scan.jobs, where 0 means one per core. */
  threads: number;
  /** Replace a thread after it has scanned this many messages; never when absent. */
  recycleAfterJobs?: number;
  /** Replace a thread whose heap is above this after a message; never when absent. */
  recycleHeapMb?: number;
  /** Told each time a thread is replaced between messages (for logs). */
  onRecycle?(reason: RecycleReason): void;
}

interface Job {
  id: number;
  raw: Uint8Array<ArrayBuffer>;
  envelope: JournalEnvelope | undefined;
  resolve(report: ScanReport): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** The thread said it was ready at least once. */
  started: boolean;
  /** Messages this thread has answered. */
  scanned: number;
  job: Job | null;
  timer: NodeJS.Timeout | null;
}

/**
 * Under vitest the sources run directly, so the worker is the .ts file run through tsx, started by
 * run-ts.mjs: Node 20 ignores `--import tsx` in a worker's execArgv (nodejs/node#47747).
 */
function workerScript(): { file: string; argv: string[] } {
  if (import.meta.url.endsWith('.ts')) {
    return { file: join(PACKAGE_ROOT, 'workers', 'run-ts.mjs'), argv: [pathToFileURL(join(PACKAGE_ROOT, 'workers', 'scan-worker.ts')).href] };
  }
  return { file: join(PACKAGE_ROOT, 'dist', 'workers', 'scan-worker.js'), argv: [] };
}

export class ScanPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;
  private fatal: Error | null = null;
  /** Some thread has started: the config and lexicons are good, so a later start failure is the thread's own. */
  private anyStarted = false;

  constructor(private readonly options: ScanPoolOptions) {
    for (let i = 0; i < Math.max(1, options.threads); i++) this.slots.push(this.spawn());
  }

  scan(raw: Buffer, envelope?: JournalEnvelope): Promise<ScanReport> {
    if (this.closed) return Promise.reject(new Error('scan pool is closed'));
    if (this.fatal) return Promise.reject(this.fatal);
    const { memoryMb } = this.options.config.scan;
    // Decoding takes several bytes of heap per raw byte. A thread that reaches its heap limit inside
    // an allocation of external memory (a Buffer's backing store) is not stopped alone: V8 ends the
    // whole process. A message that cannot fit is refused before it gets that far.
    if (raw.length * HEAP_BYTES_PER_RAW_BYTE > memoryMb * 1024 * 1024) {
      return Promise.reject(new ScanLimitError(`scan exceeded the ${memoryMb} MB memory limit (a ${formatMb(raw.length)} MB message needs more)`));
    }
    // Transfer a private copy: a Buffer may share its memory with others (pooled or sliced from a
    // chunk), and transferring the caller's own memory would empty its Buffer under it.
    const own = new Uint8Array(raw);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, raw: own, envelope, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const error = new Error('scan pool closed');
    for (const job of this.queue.splice(0)) job.reject(error);
    await Promise.all(this.slots.map((slot) => this.retire(slot, error)));
  }

  private spawn(): Slot {
    const { file, argv } = workerScript();
    const { config } = this.options;
    const worker = new Worker(file, {
      argv,
      workerData: { config },
      resourceLimits: { maxOldGenerationSizeMb: config.scan.memoryMb },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false, started: false, scanned: 0, job: null, timer: null };
    worker.on('message', (reply: WorkerReply | { ready: true }) => {
      if ('ready' in reply) {
        slot.ready = true;
        slot.started = true;
        this.anyStarted = true;
        this.dispatch();
        return;
      }
      const job = this.finish(slot);
      if (!job || job.id !== reply.id) return;
      if ('report' in reply) job.resolve(reply.report);
      else job.reject(new Error(reply.error));
      slot.scanned++;
      const reason = this.recycleReason(slot, reply.heapUsed);
      if (reason) this.recycle(slot, reason);
      this.dispatch();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      if (!slot.ready && !this.anyStarted) {
        // A pool whose threads cannot even start (broken config or lexicon) would fail every message: stop.
        this.fatal = new Error(`scan worker failed to start: ${error.message}`);
        for (const job of this.queue.splice(0)) job.reject(this.fatal);
      }
      // The thread is dying; until 'exit' replaces it, it must not be given another message.
      slot.ready = false;
      const job = this.finish(slot);
      job?.reject(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new ScanLimitError(`scan exceeded the ${config.scan.memoryMb} MB memory limit`)
          : new Error(`scan worker crashed: ${error.message}`),
      );
    });
    worker.on('exit', () => this.replace(slot));
    return slot;
  }

  private finish(slot: Slot): Job | null {
    const job = slot.job;
    slot.job = null;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    return job;
  }

  private replace(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    this.finish(slot)?.reject(new Error('scan worker exited'));
    if (this.closed || this.fatal) {
      this.slots.splice(index, 1);
      return;
    }
    if (slot.started) {
      this.slots[index] = this.spawn();
      return;
    }
    // A replacement that died starting (a transient failure, as the pool had started before) is
    // tried again after a pause rather than in a tight loop; meanwhile the other threads work.
    setTimeout(() => {
      const at = this.slots.indexOf(slot);
      if (at === -1) return;
      if (this.closed) this.slots.splice(at, 1);
      else this.slots[at] = this.spawn();
    }, RESPAWN_DELAY_MS).unref();
  }

  private recycleReason(slot: Slot, heapUsed: number): RecycleReason | null {
    const { recycleAfterJobs, recycleHeapMb } = this.options;
    if (recycleAfterJobs !== undefined && slot.scanned >= recycleAfterJobs) return 'jobs';
    if (recycleHeapMb !== undefined && heapUsed > recycleHeapMb * 1024 * 1024) return 'heap';
    return null;
  }

  /**
   * Replaces an idle thread: its successor takes its place at once (queued messages wait for it to
   * start), and the old thread, out of the pool and holding no message, is ended quietly.
   */
  private recycle(slot: Slot, reason: RecycleReason): void {
    if (this.closed || this.fatal) return;
    const index = this.slots.indexOf(slot);
    if (index === -1) return;
    slot.ready = false;
    this.slots[index] = this.spawn();
    void slot.worker.terminate();
    this.options.onRecycle?.(reason);
  }

  private async retire(slot: Slot, error: Error): Promise<void> {
    // A message in flight gets an answer too: dropping it would leave its caller waiting forever.
    this.finish(slot)?.reject(error);
    await slot.worker.terminate();
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.job) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      const { timeoutMs } = this.options.config.scan;
      slot.timer = setTimeout(() => {
        const overdue = this.finish(slot);
        overdue?.reject(new ScanLimitError(`scan took longer than the ${timeoutMs} ms limit`));
        // Terminating fires 'exit', which replaces the thread; until then it must get no more work.
        slot.ready = false;
        void slot.worker.terminate();
      }, timeoutMs);
      const request: WorkerRequest = { id: job.id, raw: job.raw, ...(job.envelope ? { envelope: job.envelope } : {}) };
      slot.worker.postMessage(request, [job.raw.buffer]);
    }
  }
}

/** Opens a pool after checking the lexicons here, so a broken lexicon is one clear error, not one per thread. */
export function openScanPool(options: ScanPoolOptions): ScanPool {
  loadLexicon(options.config);
  return new ScanPool(options);
}
