/**
 * Tools for lexicon authors:
 *   kestrel lexicon check   validate every file; list duplicate phrases and conflicting examples
 *   kestrel lexicon test    run every rule's mustMatch / mustNotMatch examples
 *   kestrel lexicon diff --against REF DIR   flag counts per rule and category, REF vs now
 */
import type { KestrelConfig } from '../config/schema.js';
import { compileAt, diffLexicons, type CountChange, type LexiconDiff } from '../lexicon/diff.js';
import { checkExamples } from '../lexicon/examples.js';
import { findConflicts, findDuplicates, findGluedCollisions } from '../lexicon/lint.js';
import { loadLexicon } from '../scan/pipeline.js';
import { EXIT, UsageError } from './errors.js';
import { processIo, type CliIo } from './io.js';

export function runLexiconCheck(config: KestrelConfig, io: CliIo = processIo()): number {
  const lexicon = loadLexicon(config);
  const warnings = [...findDuplicates(lexicon), ...findGluedCollisions(lexicon), ...findConflicts(lexicon)];
  for (const w of warnings) io.stderr.write(`${w.origin}: ${w.rule}: ${w.message}\n`);
  const sets = lexicon.sets.size;
  io.stdout.write(`${lexicon.files.length} files, ${lexicon.rules.length} rules, ${sets} sets: valid; ${warnings.length} warnings\n`);
  return EXIT.ok;
}

export function runLexiconTest(config: KestrelConfig, io: CliIo = processIo()): number {
  const lexicon = loadLexicon(config);
  const failures = checkExamples(lexicon);
  for (const f of failures) io.stderr.write(`${f.origin}: ${f.rule}: expected ${f.expected}: ${JSON.stringify(f.example)}\n`);
  const examples = lexicon.rules.reduce((n, r) => n + r.mustMatch.length + r.mustNotMatch.length, 0);
  io.stdout.write(`${lexicon.files.length} files, ${lexicon.rules.length} rules, ${examples} examples, ${failures.length} failing\n`);
  return failures.length > 0 ? EXIT.flagged : EXIT.ok;
}

function table(title: string, rows: CountChange[]): string[] {
  const changed = rows.filter((r) => r.before !== r.after);
  if (changed.length === 0) return [`${title}: no change`];
  const width = Math.max(title.length, ...changed.map((r) => r.name.length));
  return [
    `${title.padEnd(width)}  before   after  change`,
    ...changed.map((r) => `${r.name.padEnd(width)}  ${String(r.before).padStart(6)}  ${String(r.after).padStart(6)}  ${`${r.after - r.before > 0 ? '+' : ''}${r.after - r.before}`.padStart(6)}`),
  ];
}

const LISTED_MESSAGES = 30;

function renderDiff(diff: LexiconDiff, ref: string): string {
  const name = (c: LexiconDiff['changed'][number]) => (c.index === undefined ? c.file : `${c.file}#${c.index}`);
  return [
    `${diff.messages} messages (${diff.failed} could not be scanned); lexicons at ${ref} -> now`,
    '',
    ...table('category', diff.categories),
    '',
    ...table('rule', diff.rules),
    '',
    `${diff.changed.length} messages change verdict${diff.changed.length > LISTED_MESSAGES ? ` (first ${LISTED_MESSAGES})` : ''}:`,
    ...diff.changed.slice(0, LISTED_MESSAGES).map((c) => `  ${name(c)}: [${c.before.join(', ')}] -> [${c.after.join(', ')}]`),
  ].join('\n');
}

export async function runLexiconDiff(config: KestrelConfig, options: { against?: string; paths: string[]; json: boolean }, io: CliIo = processIo()): Promise<number> {
  if (!options.against) throw new UsageError('lexicon diff needs --against REF (a git revision, or a folder of lexicons)');
  if (options.paths.length === 0) throw new UsageError('lexicon diff needs a folder of mail to replay');
  // REF stands in for the built-in lexicons; the config's own lexicons are on both sides.
  if (!config.builtinLexicons) throw new UsageError('lexicon diff compares versions of the built-in lexicons, which this config turns off (builtinLexicons: false)');
  let before;
  try {
    before = compileAt(options.against, config);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('cannot read lexicons')) throw new UsageError(error.message);
    throw error;
  }
  try {
    const now = loadLexicon(config);
    const diff = await diffLexicons(config, before.lexicon, now, options.paths);
    io.stdout.write(options.json ? `${JSON.stringify(diff, null, 2)}\n` : `${renderDiff(diff, options.against)}\n`);
  } finally {
    before.cleanup();
  }
  return EXIT.ok;
}
