/**
 * What-if replay for lexicon authors: scan a folder of mail with two versions of the lexicons and
 * count, per rule and per category, how many messages each flags, so a change is previewed before
 * it ships. Each message is parsed and analysed once; both lexicons run on the same analysis.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KestrelConfig } from '../config/schema.js';
import { PACKAGE_ROOT } from '../paths.js';
import { createChainStructureSignals } from '../scan/detectors/chain-mail/structure.js';
import { scoreHits } from '../scan/detectors/lexicon.js';
import { createAnalyser, detectorContext } from '../scan/pipeline.js';
import { isFailure, readMessages } from '../sources/index.js';
import { compileLexicons, type CompiledLexicon } from './compile.js';
import { evaluateRules } from './engine.js';

export interface CountChange {
  name: string;
  before: number;
  after: number;
}

export interface LexiconDiff {
  messages: number;
  failed: number;
  categories: CountChange[];
  rules: CountChange[];
  /** Messages whose reported categories changed. */
  changed: Array<{ file: string; index?: number; before: string[]; after: string[] }>;
}

/**
 * The built-in lexicons as they were at git revision `ref` (extracted to a temp folder), or a
 * folder of lexicons when `ref` names one. Returns the folder and a function that removes it.
 */
export function lexiconsAt(ref: string): { dir: string; cleanup(): void } {
  if (existsSync(ref) && statSync(ref).isDirectory()) return { dir: ref, cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-lexicons-'));
  try {
    const archive = execFileSync('git', ['-C', PACKAGE_ROOT, 'archive', '--format=tar', ref, 'lexicons'], { stdio: ['ignore', 'pipe', 'pipe'] });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot read lexicons at "${ref}": ${stderr || (error as Error).message}`);
  }
  return { dir: join(dir, 'lexicons'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compile the lexicons at `ref` with the config's own extra lexicons and disabled rules. */
export function compileAt(ref: string, config: KestrelConfig): { lexicon: CompiledLexicon; cleanup(): void } {
  const { dir, cleanup } = lexiconsAt(ref);
  try {
    return { lexicon: compileLexicons([dir, ...config.lexicons], { disabledRules: config.disableRules }), cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}

function tally(counts: Map<string, [number, number]>, names: Iterable<string>, side: 0 | 1): void {
  for (const name of names) {
    const pair = counts.get(name) ?? [0, 0];
    pair[side]++;
    counts.set(name, pair);
  }
}

function changes(counts: Map<string, [number, number]>): CountChange[] {
  return [...counts]
    .map(([name, [before, after]]) => ({ name, before, after }))
    .sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before) || a.name.localeCompare(b.name));
}

export async function diffLexicons(config: KestrelConfig, before: CompiledLexicon, after: CompiledLexicon, paths: string[]): Promise<LexiconDiff> {
  const analyse = createAnalyser(config);
  const context = detectorContext(config);
  const structure = createChainStructureSignals(config);
  const categoryCounts = new Map<string, [number, number]>();
  const ruleCounts = new Map<string, [number, number]>();
  const changed: LexiconDiff['changed'] = [];
  let messages = 0;
  let failed = 0;
  for await (const item of readMessages(paths, { maxMessageBytes: config.scan.maxMessageBytes })) {
    messages++;
    if (isFailure(item)) {
      failed++;
      continue;
    }
    let outcome: Array<{ categories: string[]; rules: string[] }>;
    try {
      const message = await analyse(item.raw);
      outcome = [before, after].map((lexicon) => {
        const { findings } = scoreHits(lexicon, evaluateRules(lexicon, message.fields), message, context, structure.detect(message, context));
        return { categories: [...new Set(findings.map((f) => f.category))].sort(), rules: findings.map((f) => f.rule) };
      });
    } catch {
      failed++;
      continue;
    }
    const [was, now] = outcome as [(typeof outcome)[0], (typeof outcome)[0]];
    tally(categoryCounts, was.categories, 0);
    tally(categoryCounts, now.categories, 1);
    tally(ruleCounts, was.rules, 0);
    tally(ruleCounts, now.rules, 1);
    if (was.categories.join() !== now.categories.join()) {
      changed.push({ file: item.file, ...(item.index === undefined ? {} : { index: item.index }), before: was.categories, after: now.categories });
    }
  }
  return { messages, failed, categories: changes(categoryCounts), rules: changes(ruleCounts), changed };
}
