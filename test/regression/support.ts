/** Small helpers shared by the review tests (not a test file itself). */
import { compileYaml, lexiconFile } from '../helpers/lexicon.js';
import type { CompiledLexicon } from '../../src/lexicon/compile.js';
import { createLexiconDetector } from '../../src/scan/detectors/lexicon.js';
import { analyseField } from '../../src/scan/analyse.js';
import type { AnalysedMessage, Finding, TextField } from '../../src/scan/types.js';

/** One rule in lexicon YAML; `body` holds `terms:` and any requires/except/context lines, indented 4. */
export function rule(id: string, body: string, extra = ''): string {
  return `  - id: ${id}
    description: review rule ${id}
    severity: moderate
${extra}${body}
    mustMatch: ["x"]
    mustNotMatch: ["y"]
`;
}

export function lexiconOf(rules: string, header?: string): CompiledLexicon {
  return compileYaml({ 'review.yaml': header === undefined ? lexiconFile(rules) : lexiconFile(rules, header) });
}

/** Run the lexicon detector over one body text (or several fields). */
export function findings(lexicon: CompiledLexicon, texts: string | TextField[], excerptContext = 20): Finding[] {
  const fields = (typeof texts === 'string' ? [{ field: 'body', text: texts, quoted: [] }] : texts).map(analyseField);
  const message = { fields } as unknown as AnalysedMessage;
  return createLexiconDetector(lexicon).detect(message, { excerptContext });
}

/** The evidence `match` strings and slices for every finding of `ruleId`. */
export function evidenceSlices(lexicon: CompiledLexicon, text: string, ruleId: string): Array<{ slice: string; match: string }> {
  const finding = findings(lexicon, text).find((f) => f.rule === ruleId);
  return (finding?.evidence ?? []).map((e) => ({ slice: text.slice(e.start, e.end), match: e.match }));
}

export function isWellFormed(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff)) return false;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}
