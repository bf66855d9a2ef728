/**
 * Personal-data recognizers, after Presidio's: each kind of personal data is one small recognizer
 * with its patterns, the context words that raise confidence, and a validation step (check digits,
 * valid prefixes) that removes look-alikes. A recognizer only finds candidates in one field's text;
 * the detector decides severity from the message's direction and masks what it reports.
 */
import type { FieldView } from './field-view.js';

/**
 * How much harm the kind of data does when it leaks, which sets the floor of a finding's severity:
 * `contact` (a phone number, an address), `identifier` (UPN, NHS, NI, bank, card, credentials),
 * `special` (health, SEN, safeguarding status: UK GDPR Article 9 and child-protection data).
 */
export type Sensitivity = 'contact' | 'identifier' | 'special';

/** One value a recognizer found in a field, before masking. Offsets index the field's text. */
export interface Candidate {
  start: number;
  end: number;
  /** 0..1: the pattern's base score, raised by context, set to 1 by a passing check digit. */
  score: number;
  /** Why it was accepted, for the finding's explanation: "check letter valid", "labelled `NHS no.`". */
  reason: string;
}

export interface Recognizer {
  /** Rule id shown in findings and accepted by `disableRules`: `personal_data.upn`. */
  id: string;
  /** The category is `personal_data.<kind>`. */
  kind: string;
  description: string;
  /** Policy clause cited by its findings. */
  policy: string;
  sensitivity: Sensitivity;
  find(view: FieldView): Candidate[];
  /**
   * The value with its identifying part replaced by `*`, the same length as the value so that
   * offsets stay true: `A12345******X`. The unmasked value never leaves the detector.
   */
  mask(value: string): string;
  /** Sentences that must yield a candidate, and near-misses that must not. Run by `npm test`. */
  examples: { mustMatch: string[]; mustNotMatch: string[] };
}

/** Context that raises a pattern's score: words or short phrases near the value. */
export interface ContextWords {
  /** Lower-case words or phrases; a phrase matches consecutive words. */
  words: readonly string[];
  /** Words looked at before the value (default 6) and after it (default 3). */
  before?: number;
  after?: number;
}

export interface PatternSpec {
  name: string;
  /**
   * Must be global (`g`); the whole match is the value unless the pattern has a group named `value`.
   * Add `d` when the value's text may also occur earlier in the match (`password: pass`).
   */
  regex: RegExp;
  score: number;
}

export interface PatternRecognizerSpec extends Omit<Recognizer, 'find' | 'mask'> {
  patterns: readonly PatternSpec[];
  /**
   * Cheap test of the whole field (not global): a field it fails is skipped. For kinds reported only
   * beside their label, so that a large attachment without the label costs one scan.
   */
  fieldMustMatch?: RegExp;
  /**
   * Check digits and format rules. `true` sets the score to `checkedScore`, `false` drops the value,
   * `undefined` keeps the pattern's score (no check exists for the kind).
   */
  validate?(value: string): boolean | undefined;
  /**
   * The score of a value whose check passes (default 1). Set it lower when chance passes the check
   * too often to report without a label: one 10-digit number in eleven passes the NHS check.
   */
  checkedScore?: number;
  /** Drops a value the pattern matched but the surrounding text rules out (a VAT label, a signature). */
  exclude?(view: FieldView, start: number, end: number): boolean;
  context?: ContextWords;
  /** Added to the score when a context word is near (Presidio's default is 0.35). */
  contextBoost?: number;
  /** Minimum score to report (default 0.5). */
  threshold?: number;
  /** Characters at each end left readable by the mask (default 2 and 1). */
  keep?: { start: number; end: number };
}

const DEFAULT_CONTEXT_BOOST = 0.35;
const DEFAULT_THRESHOLD = 0.5;

/** Replace letters and digits with `*`, keeping `start` of them at the front and `end` at the back. */
export function maskValue(value: string, keep: { start: number; end: number }): string {
  const total = [...value].filter((ch) => /[\p{L}\p{N}]/u.test(ch)).length;
  // Never leave more than a third of an identifier readable.
  const budget = Math.floor(total / 3);
  const front = Math.min(keep.start, budget);
  const back = Math.min(keep.end, Math.max(0, budget - front));
  let seen = 0;
  let out = '';
  for (const ch of value) {
    if (/[\p{L}\p{N}]/u.test(ch)) {
      // An astral letter (`𝐏`, two UTF-16 units) becomes two stars: the mask keeps the value's length.
      out += seen < front || seen >= total - back ? ch : '*'.repeat(ch.length);
      seen++;
    } else {
      out += ch;
    }
  }
  return out;
}

/**
 * Does [start, end) overlap one of `sorted`: spans that do not overlap each other, sorted by start?
 * A binary search, because a large CSV attachment yields thousands of values.
 */
function overlapsAny(sorted: readonly Candidate[], start: number, end: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.start < end) lo = mid + 1;
    else hi = mid;
  }
  // The last span starting before `end` also ends last, the spans being disjoint.
  return lo > 0 && sorted[lo - 1]!.end > start;
}

/** A recognizer made of regular expressions, a validation step and context words. */
export function patternRecognizer(spec: PatternRecognizerSpec): Recognizer {
  const { patterns, fieldMustMatch, validate, exclude, context, checkedScore = 1, contextBoost = DEFAULT_CONTEXT_BOOST, threshold = DEFAULT_THRESHOLD } = spec;
  const keep = spec.keep ?? { start: 2, end: 1 };
  for (const p of patterns) if (!p.regex.global) throw new Error(`recognizer ${spec.id}: pattern ${p.name} must have the g flag`);
  if (fieldMustMatch?.global) throw new Error(`recognizer ${spec.id}: fieldMustMatch must not have the g flag`);
  return {
    id: spec.id,
    kind: spec.kind,
    description: spec.description,
    policy: spec.policy,
    sensitivity: spec.sensitivity,
    examples: spec.examples,
    mask: (value) => maskValue(value, keep),
    find(view) {
      const found: Candidate[] = [];
      const text = view.text;
      if (fieldMustMatch && !fieldMustMatch.test(text)) return found;
      for (const pattern of patterns) {
        // A global regex never returns overlapping matches, so only earlier patterns' values can clash.
        const claimed = [...found].sort((a, b) => a.start - b.start);
        pattern.regex.lastIndex = 0;
        for (let m = pattern.regex.exec(text); m !== null; m = pattern.regex.exec(text)) {
          if (m[0] === '') {
            pattern.regex.lastIndex++;
            continue;
          }
          const value = m.groups?.['value'] ?? m[0];
          // The `d` flag gives the value's own offset; without it, its first occurrence in the match.
          const start = m.indices?.groups?.['value']?.[0] ?? m.index + (m.groups?.['value'] !== undefined ? m[0].indexOf(value) : 0);
          const end = start + value.length;
          if (overlapsAny(claimed, start, end)) continue;
          const valid = validate?.(value);
          if (valid === false) continue;
          if (exclude?.(view, start, end)) continue;
          let score = valid === true ? Math.max(checkedScore, pattern.score) : pattern.score;
          const reasons = [valid === true ? `${pattern.name}, check digits valid` : pattern.name];
          const label = context ? view.contextWord(start, end, context) : undefined;
          if (label !== undefined) {
            score = Math.min(1, score + contextBoost);
            reasons.push(`near "${label}"`);
          }
          if (score >= threshold) found.push({ start, end, score, reason: reasons.join(', ') });
        }
      }
      return found;
    },
  };
}

/**
 * Is the span one group of a longer run of digit groups (`4111 1111 1111 1111` seen from inside)?
 * An identifier cut out of a bigger number is not that identifier.
 */
export function insideLongerNumber(text: string, start: number, end: number): boolean {
  const joined = (i: number, step: -1 | 1) => {
    const gap = text[i];
    const next = text[i + step];
    return gap !== undefined && next !== undefined && /[ \-.]/.test(gap) && /\d/.test(next);
  };
  return joined(start - 1, -1) || joined(end, 1);
}

/** The letters and digits of a value, upper-cased: `943 476 5919` -> `9434765919`. */
export function compact(value: string): string {
  return value.replace(/[^\p{L}\p{N}]/gu, '').toUpperCase();
}
