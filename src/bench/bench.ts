/**
 * `npm run bench [-- DIR] [--rounds N] [--json]`: throughput of the full scan pipeline beside
 * parse-only baselines measured in the same run, on one core, so the ratio survives a noisy machine.
 *
 * Stages: mailparser `simpleParser` (the reference baseline), postal-mime parse only, Kestrel's
 * parse stage (postal-mime + HTML to text + quote finding), and the full pipeline.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { simpleParser } from 'mailparser';
import PostalMime from 'postal-mime';
import { defaultConfig } from '../config/load.js';
import { PACKAGE_ROOT } from '../paths.js';
import { parseMail } from '../scan/parse/parse.js';
import { createScanner } from '../scan/pipeline.js';
import { isFailure, readMessages } from '../sources/index.js';

interface Stage {
  name: string;
  run(raw: Buffer): Promise<unknown>;
}

interface StageResult {
  name: string;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  /** Median of the rounds, in ms per message: p50, p95, p99, max of the median round. */
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  failures: number;
}

/** The shared perf corpus beside the checkout (see README). */
const DEFAULT_CORPUS = join(PACKAGE_ROOT, '..', 'shared', 'corpus', 'perf');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function timeStage(stage: Stage, messages: Buffer[]): Promise<{ seconds: number; latencies: number[]; failures: number }> {
  const latencies: number[] = new Array(messages.length);
  let failures = 0;
  const started = performance.now();
  for (let i = 0; i < messages.length; i++) {
    const t = performance.now();
    try {
      await stage.run(messages[i]!);
    } catch {
      failures++;
    }
    latencies[i] = performance.now() - t;
  }
  return { seconds: (performance.now() - started) / 1000, latencies, failures };
}

/** V8's full collector, without asking the user for `--expose-gc`. */
function fullGarbageCollector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { rounds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } },
  });
  const dir = positionals[0] ?? DEFAULT_CORPUS;
  const rounds = Math.max(1, Number(values.rounds));

  const messages: Buffer[] = [];
  for await (const item of readMessages([dir])) if (!isFailure(item)) messages.push(item.raw);
  if (messages.length === 0) throw new Error(`no messages under ${dir}`);
  const megabytes = messages.reduce((n, m) => n + m.length, 0) / 1e6;

  const config = defaultConfig();
  const scanner = createScanner(config);
  const stages: Stage[] = [
    { name: 'mailparser parse (baseline)', run: (raw) => simpleParser(raw) },
    { name: 'postal-mime parse', run: (raw) => PostalMime.parse(raw) },
    { name: 'kestrel parse stage', run: (raw) => parseMail(raw, config.scan) },
    { name: 'kestrel full pipeline', run: (raw) => scanner.scan(raw) },
  ];

  // One untimed pass each so the JIT has warmed every stage before any is timed.
  for (const stage of stages) await timeStage(stage, messages);
  const samples = new Map<string, Array<{ seconds: number; latencies: number[]; failures: number }>>();
  const collectGarbage = fullGarbageCollector();
  for (let round = 0; round < rounds; round++) {
    // Interleave stages so a slow patch on the machine hits all of them alike.
    for (const stage of stages) {
      // Each stage starts on a clean heap: otherwise the garbage the full pipeline leaves in the old
      // generation is swept while the next round's baseline is being timed, and slows the baseline.
      collectGarbage();
      const list = samples.get(stage.name) ?? [];
      list.push(await timeStage(stage, messages));
      samples.set(stage.name, list);
    }
  }

  const results: StageResult[] = stages.map((stage) => {
    const runs = [...samples.get(stage.name)!].sort((a, b) => a.seconds - b.seconds);
    const median = runs[Math.floor(runs.length / 2)]!;
    const sorted = [...median.latencies].sort((a, b) => a - b);
    return {
      name: stage.name,
      messagesPerSecond: messages.length / median.seconds,
      megabytesPerSecond: megabytes / median.seconds,
      latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? 0 },
      failures: median.failures,
    };
  });
  const baseline = results[0]!;
  const full = results[results.length - 1]!;
  const report = {
    corpus: dir,
    messages: messages.length,
    megabytes: Number(megabytes.toFixed(1)),
    rounds,
    node: process.version,
    results,
    /** How many times longer the full pipeline takes than parsing alone; the goal is at most 2. */
    costVersusBaseline: baseline.messagesPerSecond / full.messagesPerSecond,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };

  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const lines = [
    `${report.messages} messages, ${report.megabytes} MB from ${dir}; median of ${rounds} rounds, one core, ${process.version}`,
    '',
    `${'stage'.padEnd(30)} ${'msg/s'.padStart(8)} ${'MB/s'.padStart(7)}   ${'p50 ms'.padStart(7)} ${'p95 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'max ms'.padStart(8)}  failed`,
    ...results.map(
      (r) =>
        `${r.name.padEnd(30)} ${r.messagesPerSecond.toFixed(0).padStart(8)} ${r.megabytesPerSecond.toFixed(1).padStart(7)}   ${r.latencyMs.p50.toFixed(2).padStart(7)} ${r.latencyMs.p95.toFixed(2).padStart(7)} ${r.latencyMs.p99.toFixed(2).padStart(7)} ${r.latencyMs.max.toFixed(1).padStart(8)}  ${r.failures}`,
    ),
    '',
    `full pipeline costs ${report.costVersusBaseline.toFixed(2)}x the mailparser parse-only baseline (goal: at most 2x); peak RSS ${report.peakRssMb} MB`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
