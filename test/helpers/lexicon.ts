import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compileLexicons, type CompiledLexicon } from '../../src/lexicon/compile.js';
import { evaluateRules, type RuleHit } from '../../src/lexicon/engine.js';
import { analyseField } from '../../src/scan/analyse.js';

/** Write lexicon files into a fresh temp folder and run `use` with its path; the folder is removed after. */
export function withLexiconDir<T>(files: Record<string, string>, use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'kestrel-lexicon-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function compileYaml(files: Record<string, string>): CompiledLexicon {
  return withLexiconDir(files, (dir) => compileLexicons([dir]));
}

/** Rule hits for `text` as a message body. */
export function hitsIn(lexicon: CompiledLexicon, text: string, field = 'body'): RuleHit[] {
  return evaluateRules(lexicon, [analyseField({ field, text, quoted: [] })]);
}

/** A lexicon file around some rules, with defaults for the file-level keys. */
export function lexiconFile(rules: string, header = 'category: test.cat\npolicy: 000_test.txt 1.1\n'): string {
  return `${header}rules:\n${rules}`;
}

/** One rule in lexicon YAML (a list item under `rules:`), with `body` giving its terms and the rest. */
export function testRule(id: string, body: string): string {
  return `  - id: ${id}
    description: test rule ${id}
    severity: moderate
${body}
    mustMatch: ["x"]
    mustNotMatch: ["y"]
`;
}
