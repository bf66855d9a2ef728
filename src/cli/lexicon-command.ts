/** `kestrel lexicon check`: validate every lexicon file and run each rule's examples. */
import type { KestrelConfig } from '../config/schema.js';
import { checkExamples } from '../lexicon/examples.js';
import { loadLexicon } from '../scan/pipeline.js';
import { EXIT } from './errors.js';
import { processIo, type CliIo } from './io.js';

export function runLexiconCheck(config: KestrelConfig, io: CliIo = processIo()): number {
  const lexicon = loadLexicon(config);
  const failures = checkExamples(lexicon);
  for (const f of failures) io.stderr.write(`${f.origin}: ${f.rule}: expected ${f.expected}: ${JSON.stringify(f.example)}\n`);
  const examples = lexicon.rules.reduce((n, r) => n + r.mustMatch.length + r.mustNotMatch.length, 0);
  io.stdout.write(`${lexicon.files.length} files, ${lexicon.rules.length} rules, ${examples} examples, ${failures.length} failing\n`);
  return failures.length > 0 ? EXIT.flagged : EXIT.ok;
}
