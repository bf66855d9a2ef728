/**
 * Context shared by the contact-detail rules (phone, address, e-mail), which all meet the same
 * organisational look-alikes: a letterhead or footer contact line (`T: 020 7946 0210 |
 * www.riverbank-trust.sch.uk`), a quoted message's header lines (`From:`, `On ... wrote:`), and
 * words such as "office" that make a number or an address an organisation's.
 */
import { normalise } from '../../../normalise.js';
import { tokenise } from '../../../tokenise.js';
import { findPhrase, type FieldView } from '../field-view.js';
import type { ContextWords } from '../recognizer.js';

const LETTERHEAD_LINE = /\bwww\.|https?:\/\/|\.sch\.uk\b|\.gov\.uk\b|\.ac\.uk\b/i;
/**
 * Header and letterhead lines are short. Testing only short lines keeps a per-value cost off a
 * megabyte pasted as one line, where every value would otherwise rescan the whole line.
 */
const MAX_HEADER_LINE = 300;
/** What may stand before a value that starts its line: `> `, `(`, `- `. */
const LINE_LEAD = /^[\s>"'(\-:]*$/;
const MAX_LINE_LEAD = 12;

function shortLine(view: FieldView, position: number): string | undefined {
  const index = view.lineIndexAt(position);
  const line = view.lines[index]!;
  return line.end - line.start > MAX_HEADER_LINE ? undefined : view.lineText(index);
}

/** Is the position on a quoted message's header line (`From: ...`, `On ... wrote:`)? */
export function onQuoteHeaderLine(view: FieldView, position: number): boolean {
  return shortLine(view, position) !== undefined && view.isQuoteHeader(position);
}

/** Is the position on a quoted message's header line or a letterhead's contact line? */
export function onHeaderLine(view: FieldView, position: number): boolean {
  const line = shortLine(view, position);
  return line !== undefined && (LETTERHEAD_LINE.test(line) || view.isQuoteHeader(position));
}

/**
 * The first of `context.words` near [start, end) in the value's own sentence or line, on the line
 * above when the value starts its line (`Office:` over `0161 496 0000`), or in its table column's
 * header. Unlike `FieldView.contextWord`, words of other paragraphs do not count: in a reply,
 * "let us know" ending one paragraph says nothing about the number that starts the next.
 */
export function wordInClause(view: FieldView, start: number, end: number, context: ContextWords): string | undefined {
  const tokens = view.tokens;
  const first = view.tokenIndexAt(start);
  let last = first;
  while (last < tokens.length && tokens[last]!.start < end) last++;
  const sentence = tokens[first]?.sentence;
  const line = view.lineIndexAt(start);
  const lineStart = view.lines[line]!.start;
  const startsLine = start - lineStart <= MAX_LINE_LEAD && LINE_LEAD.test(view.text.slice(lineStart, start));
  // Before the value: its sentence, its line, and the label line above it. After it: its line only,
  // as what follows a value on the next line ("Riverbank Academy" under a pasted line) is not about it.
  const before = (i: number): boolean => {
    const token = tokens[i]!;
    if (token.sentence === sentence) return true;
    const tokenLine = view.lineIndexAt(token.start);
    return tokenLine === line || (startsLine && tokenLine === line - 1);
  };
  const after = (i: number): boolean => view.lineIndexAt(tokens[i]!.start) === line;
  const words = (from: number, to: number, keep: (i: number) => boolean): string[] => {
    const out: string[] = [];
    for (let i = Math.max(0, from); i < Math.min(tokens.length, to); i++) if (keep(i)) out.push(tokens[i]!.norm);
    return out;
  };
  const found =
    findPhrase(words(first - (context.before ?? 6), first, before), context.words) ??
    findPhrase(words(last, last + (context.after ?? 3), after), context.words);
  if (found !== undefined) return found;
  const header = view.tableCell(start)?.header;
  return header === undefined ? undefined : findPhrase(tokenise(normalise(header).text).map((t) => t.norm), context.words);
}

