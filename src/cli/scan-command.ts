/** `kestrel scan PATH...`: scan files, folders, mboxes, Maildirs or stdin; one result per message. */
import { availableParallelism } from 'node:os';
import type { KestrelConfig } from '../config/schema.js';
import { createLogger } from '../log.js';
import { isErrorLine, scanItems, type ScanLine } from '../scan/batch.js';
import { applySpread } from '../scan/spread/stage.js';
import { MemorySpreadTracker } from '../scan/spread/tracker.js';
import { openScanPool } from '../scan/pool.js';
import { readMessages } from '../sources/index.js';
import { EXIT, UsageError } from './errors.js';
import { processIo, type CliIo } from './io.js';
import { Progress } from './progress.js';
import { Summary, tableHeader, tableRow } from './table.js';

export interface ScanOptions {
  paths: string[];
  format: 'jsonl' | 'table';
  failOnFlag: boolean;
  jobs?: number;
}

export function threadCount(config: KestrelConfig, jobs?: number): number {
  const wanted = jobs ?? config.scan.jobs;
  return wanted > 0 ? wanted : availableParallelism();
}

export interface ScanPathsOptions {
  /** Worker threads; config scan.jobs when absent. */
  jobs?: number;
  /** Read for the path `-`; defaults to process.stdin. */
  stdin?: NodeJS.ReadableStream;
  /** Where logs go; the process's stderr by default. */
  logTo?: NodeJS.WritableStream;
}

/** Scan every message under `paths`, handing each line to `onLine` in input order. */
export async function scanPaths(config: KestrelConfig, paths: string[], options: ScanPathsOptions, onLine: (line: ScanLine) => void): Promise<void> {
  const { jobs, stdin, logTo } = options;
  const log = createLogger(config, logTo);
  const pool = openScanPool({ config, threads: threadCount(config, jobs) });
  // Counted here, in input order, so a run's output does not depend on which thread was faster.
  const spread = config.chainMail.spread.enabled ? new MemorySpreadTracker() : null;
  const started = performance.now();
  let messages = 0;
  let failed = 0;
  try {
    const items = readMessages(paths, { maxMessageBytes: config.scan.maxMessageBytes, ...(stdin ? { stdin } : {}) });
    for await (const scanned of scanItems(items, pool, threadCount(config, jobs) * 4, log)) {
      messages++;
      const line = isErrorLine(scanned) ? scanned : await applySpread(scanned, spread, config);
      if (isErrorLine(line)) failed++;
      onLine(line);
    }
  } finally {
    await pool.close();
    await spread?.close();
  }
  log.debug({ messages, failed, ms: Math.round(performance.now() - started), threads: threadCount(config, jobs) }, 'scan finished');
}

export async function runScan(config: KestrelConfig, options: ScanOptions, io: CliIo = processIo()): Promise<number> {
  const out = io.stdout;
  if (options.paths.length === 0) throw new UsageError('scan needs at least one PATH (a file, folder, mbox, Maildir, or - for stdin)');
  const summary = new Summary();
  const progress = new Progress(io.stderr);
  const started = performance.now();
  if (options.format === 'table') out.write(`${tableHeader()}\n`);

  await scanPaths(config, options.paths, { jobs: options.jobs, stdin: io.stdin, logTo: io.stderr }, (line) => {
    summary.add(line);
    progress.scanned++;
    if (isErrorLine(line)) progress.failed++;
    else if (line.flagged) progress.flagged++;
    progress.clear();
    out.write(options.format === 'table' ? `${tableRow(line)}\n` : `${JSON.stringify(line)}\n`);
    progress.update();
  });

  progress.clear();
  if (options.format === 'table') out.write(`${summary.render(performance.now() - started)}\n`);
  if (options.failOnFlag && summary.flagged > 0) return EXIT.flagged;
  return summary.failed > 0 ? EXIT.failedMessages : EXIT.ok;
}
