export interface TextRange {
  start: number;
  end: number;
}

/**
 * Header-ish lines are only matched when short: a real separator or attribution line is a
 * few dozen characters, and the cap keeps every regex below linear on a 5 MB single-line body.
 */
const MAX_MARKER_LINE = 300;
const LOOKAHEAD_LINES = 4;

/**
 * `-----Original Message-----`, `---------- Forwarded message ---------`, `===== Forwarded message =====`;
 * a clear-signed (PGP) message escapes a leading dash as `- -`, and may drop the closing rule.
 */
const SEPARATOR_LINE = /^(?:- )?(?:-{2,}|={2,})\s*(?:original message|forwarded message(?: follows)?)\s*(?:-{2,}|={2,})?$/i;
const BEGIN_FORWARDED = /^begin forwarded message:?$/i;
/** Outlook bolds the labels, which survives HTML-to-text as `*From:*` in some converters. */
const FROM_LINE = /^\*?from:/i;
const SENT_LINE = /^\*?(?:sent|date):/i;
const TO_LINE = /^\*?(?:to|subject):/i;
const UNDERSCORE_LINE = /^_{5,}$/;
const ON_LINE = /^on\s/i;
const WROTE_END = /wrote:$/i;
/** Chat emoticons that start with `>` (`>:D<` a hug, `>:(`, `>_<`, `>.<`, `>:-)`): not a quote marker. */
const EMOTICON_AFTER_GT = /^(?:[:;=][-^']?[()[\]DPpOo3|\\/*<@$]|[_.]<)/;

/**
 * Marks quoted history in a plain-text body: `>` lines, `On ... wrote:` attributions, and
 * everything from an Outlook/forwarded header block to the end. One pass over the lines;
 * look-ahead is bounded, so the cost is linear in the text.
 */
export function findQuotedRanges(text: string): TextRange[] {
  const { starts, ends } = splitLines(text);
  const ranges: TextRange[] = [];
  const lineCount = starts.length;

  /** The line from its first non-blank character, trailing blanks removed; null when too long. */
  const marker = (i: number): string | null => {
    const start = starts[i];
    const end = ends[i];
    if (start === undefined || end === undefined) return null;
    const first = skipBlanks(text, start, end);
    if (end - first > MAX_MARKER_LINE) return null;
    return text.slice(first, end).trimEnd();
  };

  for (let i = 0; i < lineCount; i++) {
    const start = starts[i] ?? 0;
    const end = ends[i] ?? 0;
    const first = skipBlanks(text, start, end);
    if (first < end && text.charCodeAt(first) === 0x3e /* > */ && !EMOTICON_AFTER_GT.test(text.slice(first + 1, first + 5))) {
      ranges.push({ start, end });
      continue;
    }

    const line = marker(i);
    if (line === null || line === '') continue;

    if (SEPARATOR_LINE.test(line) || BEGIN_FORWARDED.test(line)) {
      ranges.push({ start, end: text.length });
      break;
    }

    if (FROM_LINE.test(line) && isOutlookHeader(marker, i, lineCount)) {
      ranges.push({ start: underscoreLineBefore(marker, starts, i) ?? start, end: text.length });
      break;
    }

    if (ON_LINE.test(line)) {
      if (WROTE_END.test(line)) {
        ranges.push({ start, end });
        continue;
      }
      // Clients wrap long attributions, leaving `wrote:` alone on the next line.
      const next = i + 1 < lineCount ? marker(i + 1) : null;
      if (next !== null && WROTE_END.test(next)) {
        ranges.push({ start, end: ends[i + 1] ?? end });
        i++;
      }
    }
  }

  return mergeRanges(ranges, text);
}

function isOutlookHeader(marker: (i: number) => string | null, from: number, lineCount: number): boolean {
  let sent = false;
  let to = false;
  for (let j = from + 1; j <= from + LOOKAHEAD_LINES && j < lineCount; j++) {
    const line = marker(j);
    if (line === null) continue;
    if (SENT_LINE.test(line)) sent = true;
    else if (TO_LINE.test(line)) to = true;
  }
  return sent && to;
}

/** Outlook puts a `____` rule (sometimes then a blank line) above the header block. */
function underscoreLineBefore(
  marker: (i: number) => string | null,
  starts: number[],
  from: number,
): number | undefined {
  for (let j = from - 1; j >= 0 && j >= from - 2; j--) {
    const line = marker(j);
    if (line === '') continue;
    if (line !== null && UNDERSCORE_LINE.test(line)) return starts[j];
    return undefined;
  }
  return undefined;
}

function skipBlanks(text: string, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Line content spans, excluding `\n` and a preceding `\r`. */
function splitLines(text: string): { starts: number[]; ends: number[] } {
  const starts: number[] = [];
  const ends: number[] = [];
  let pos = 0;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    const stop = nl < 0 ? text.length : nl;
    starts.push(pos);
    ends.push(stop > pos && text.charCodeAt(stop - 1) === 0x0d ? stop - 1 : stop);
    if (nl < 0) break;
    pos = nl + 1;
  }
  return { starts, ends };
}

/**
 * Sorts ranges and joins those that overlap or are separated only by whitespace, so a
 * block of `>` lines (or a blockquote next to an attribution line) is one range.
 */
export function mergeRanges(ranges: readonly TextRange[], text: string): TextRange[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: TextRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && (range.start <= last.end || onlyWhitespace(text, last.end, range.start))) {
      last.end = Math.max(last.end, range.end);
    } else {
      merged.push({ start: range.start, end: range.end });
    }
  }
  return merged;
}

function onlyWhitespace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/** Keeps the parts of `ranges` that fall below `length` (after a text was cut). */
export function clipRanges(ranges: readonly TextRange[], length: number): TextRange[] {
  const clipped: TextRange[] = [];
  for (const r of ranges) {
    if (r.start >= length) continue;
    clipped.push({ start: r.start, end: Math.min(r.end, length) });
  }
  return clipped;
}

/** Moves ranges by `offset`, for text embedded in a longer field. */
export function shiftRanges(ranges: readonly TextRange[], offset: number): TextRange[] {
  return ranges.map((r) => ({ start: r.start + offset, end: r.end + offset }));
}
