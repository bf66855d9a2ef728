/** `kestrel eval DIR`: scan a labelled corpus and report detection quality. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KestrelConfig } from '../config/schema.js';
import { createBaseline } from '../eval/baseline.js';
import { evaluate, renderComparison, renderReport, type EvalReport, type LabelledResult } from '../eval/metrics.js';
import { isErrorLine } from '../scan/batch.js';
import { EXIT, UsageError } from './errors.js';
import { processIo, type CliIo } from './io.js';
import { scanPaths } from './scan-command.js';

interface ManifestEntry {
  file: string;
  labels: string[];
  also_ok?: string[];
  source?: string;
}

export interface EvalOptions {
  dir: string;
  json: boolean;
  strict: boolean;
  /** Every `.eml` file under DIR is ordinary mail (label `none`): no manifest is read. */
  benign?: boolean;
  jobs?: number;
}

/**
 * A sample of a trust's own ordinary mail measures false alarms without anyone labelling it: each
 * `.eml` file under `dir` (any depth) counts as labelled `none`.
 */
function benignManifest(dir: string): ManifestEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (error) {
    throw new UsageError(`cannot read ${dir}: ${(error as Error).message}`);
  }
  const files = names.filter((name) => name.endsWith('.eml')).sort();
  if (files.length === 0) throw new UsageError(`no .eml files under ${dir}`);
  return files.map((file) => ({ file, labels: ['none'] }));
}

function readManifest(dir: string): ManifestEntry[] {
  const file = join(dir, 'manifest.jsonl');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      throw new UsageError(`${file}:${i + 1}: not valid JSON`);
    }
    const e = entry as Partial<ManifestEntry>;
    if (typeof e.file !== 'string' || !Array.isArray(e.labels) || e.labels.length === 0) {
      throw new UsageError(`${file}:${i + 1}: needs "file" (string) and "labels" (non-empty list)`);
    }
    if (e.source !== undefined && typeof e.source !== 'string') throw new UsageError(`${file}:${i + 1}: "source" must be a string`);
    return [{ file: e.file, labels: e.labels, also_ok: e.also_ok ?? [], ...(e.source === undefined ? {} : { source: e.source }) }];
  });
}

/** The word-list baseline over the same files, scored the same way. */
async function evaluateBaseline(config: KestrelConfig, byPath: Map<string, ManifestEntry>, strict: boolean): Promise<EvalReport> {
  const match = createBaseline(config);
  const results: LabelledResult[] = [];
  for (const [path, entry] of byPath) {
    let predicted: string[] | null;
    try {
      predicted = await match(readFileSync(path));
    } catch {
      predicted = null;
    }
    results.push({ labels: entry.labels, alsoOk: entry.also_ok ?? [], predicted, routes: predicted?.length ? ['monitor'] : [] });
  }
  return evaluate(results, { strict, monitorRoute: 'monitor' });
}

export async function runEval(config: KestrelConfig, options: EvalOptions, io: CliIo = processIo()): Promise<number> {
  const manifest = options.benign ? benignManifest(options.dir) : readManifest(options.dir);
  const byPath = new Map(manifest.map((entry) => [join(options.dir, entry.file), entry]));
  const results: LabelledResult[] = [];
  await scanPaths(config, [...byPath.keys()], { jobs: options.jobs, stdin: io.stdin, logTo: io.stderr }, (line) => {
    const entry = byPath.get(line.file)!;
    const scanned = !isErrorLine(line);
    results.push({
      labels: entry.labels,
      alsoOk: entry.also_ok ?? [],
      predicted: scanned ? line.categories : null,
      routes: scanned ? line.routes : [],
      ...(entry.source === undefined ? {} : { source: entry.source }),
    });
  });
  const report = evaluate(results, { strict: options.strict, monitorRoute: 'monitor' });
  const baseline = await evaluateBaseline(config, byPath, options.strict);
  io.stdout.write(
    options.json
      ? `${JSON.stringify({ ...report, baseline }, null, 2)}\n`
      : `${renderReport(report)}\n\n${renderComparison(report, baseline)}\n`,
  );
  return EXIT.ok;
}
