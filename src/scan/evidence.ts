/** Evidence excerpts: the matched words with a little context, as the writer typed them. */
import type { Evidence, TextField } from './types.js';

function isInside(ranges: TextField['quoted'], position: number): boolean {
  return ranges.some((r) => r.start <= position && position < r.end);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Collapse white space so an excerpt reads on one line. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ');
}

export function makeEvidence(field: TextField, start: number, end: number, context: number): Evidence {
  const text = field.text;
  let from = Math.max(0, start - context);
  let to = Math.min(text.length, end + context);
  // Widen to whole words so excerpts do not begin or end mid-word.
  while (from > 0 && from > start - context * 2 && /\S/.test(text[from - 1]!)) from--;
  while (to < text.length && to < end + context * 2 && /\S/.test(text[to]!)) to++;
  // Never cut a surrogate pair.
  if (from > 0 && isLowSurrogate(text.charCodeAt(from))) from--;
  if (to < text.length && isLowSurrogate(text.charCodeAt(to))) to++;
  const before = (from > 0 ? '…' : '') + oneLine(text.slice(from, start)).trimStart();
  const after = oneLine(text.slice(end, to)).trimEnd() + (to < text.length ? '…' : '');
  const match = text.slice(start, end);
  return {
    field: field.field,
    start,
    end,
    match,
    excerpt: before + oneLine(match) + after,
    ...(isInside(field.quoted, start) ? { quoted: true } : {}),
  };
}

/**
 * Evidence about the message as a whole (its envelope, an attachment's type) rather than a span of
 * text: `start` = `end` = 0, and `match` and `excerpt` describe what was found, never quoting an
 * address or a file name.
 */
export function describedEvidence(field: string, match: string, excerpt: string): Evidence {
  return { field, start: 0, end: 0, match, excerpt };
}
