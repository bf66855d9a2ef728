/**
 * Evaluates compiled rules against a message's tokens: one matcher pass per field, then each rule
 * whose terms were hit checks its proximity requirements, exceptions and context.
 */
import type { AnalysedField, Severity } from '../scan/types.js';
import type { CompiledLexicon, CompiledRule, TermGroupRef } from './compile.js';

/** Tokens [first, last] of one field. */
export interface TokenSpan {
  field: number;
  first: number;
  last: number;
  /** Sentence of the first token, within its field. */
  sentence: number;
  /** Paragraph of the first token, within its field. */
  paragraph: number;
}

export interface RuleHit {
  rule: CompiledRule;
  score: number;
  severity: Severity;
  /** The anchor phrase with the required context around it. */
  span: TokenSpan;
  /** The anchor phrase alone: the words this hit is evidence of. */
  anchor: TokenSpan;
}

/** Words between two spans (0 when adjacent or overlapping), or Infinity across fields or on the wrong side. */
function gap(anchor: TokenSpan, other: TokenSpan, side: TermGroupRef['side']): number {
  if (anchor.field !== other.field) return Infinity;
  if (other.last < anchor.first) return side === 'after' ? Infinity : anchor.first - other.last - 1;
  if (other.first > anchor.last) return side === 'before' ? Infinity : other.first - anchor.last - 1;
  // Overlapping: touching by definition, if the other phrase reaches out on the required side.
  if (side === 'before') return other.first < anchor.first ? 0 : Infinity;
  if (side === 'after') return other.last > anchor.last ? 0 : Infinity;
  return 0;
}

/** The hits of a term group in the message being evaluated, assembled on first use. */
type GroupHits = (group: number) => readonly TokenSpan[];

function nearest(anchor: TokenSpan, candidates: readonly TokenSpan[], ref: TermGroupRef): TokenSpan | null {
  let best: TokenSpan | null = null;
  let bestGap = Infinity;
  for (const candidate of candidates) {
    if (ref.sameSentence && candidate.sentence !== anchor.sentence) continue;
    if (ref.sameParagraph && candidate.paragraph !== anchor.paragraph) continue;
    const g = gap(anchor, candidate, ref.side);
    if (g <= ref.within && g < bestGap) {
      best = candidate;
      bestGap = g;
    }
  }
  return best;
}

/** Drop hits that lie inside a longer hit of the same group: `kill` inside `kill myself`. */
function outermost(spans: TokenSpan[]): TokenSpan[] {
  spans.sort((a, b) => a.field - b.field || a.first - b.first || b.last - a.last);
  const kept: TokenSpan[] = [];
  for (const span of spans) {
    const last = kept[kept.length - 1];
    if (last && last.field === span.field && span.last <= last.last) continue;
    kept.push(span);
  }
  return kept;
}

function distinct(spans: TokenSpan[]): TokenSpan[] {
  const seen = new Set<string>();
  return spans.filter((s) => {
    const key = `${s.field}:${s.first}:${s.last}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function contains(outer: TokenSpan, inner: TokenSpan): boolean {
  return outer.field === inner.field && outer.first <= inner.first && inner.last <= outer.last && (outer.first < inner.first || inner.last < outer.last);
}

/** One rule's traces without hits that lie inside another of its hits (`kill` inside `kill myself`). */
function withoutNestedHits(traces: RuleTrace[]): RuleTrace[] {
  const hits = traces.filter((t) => t.hit);
  return traces.filter((t) => !t.hit || !hits.some((other) => other !== t && contains(other.hit!.span, t.hit!.span)));
}

function fieldKind(field: AnalysedField): string {
  const colon = field.field.indexOf(':');
  return colon === -1 ? field.field : field.field.slice(0, colon);
}

/** Why an anchor hit of a rule was kept or dropped: what `kestrel explain` shows lexicon authors. */
export interface RuleTrace {
  rule: CompiledRule;
  anchor: TokenSpan;
  outcome: 'hit' | 'missing requirement' | 'exception' | 'wrong field' | 'quoted history' | 'zero score';
  /** The hit, when the outcome is `hit`. */
  hit?: RuleHit;
  /** Index of the requirement that was missing or the exception that matched, and where. */
  entry?: { index: number; span?: TokenSpan };
  /** Context entries that applied, with where they matched. */
  context: Array<{ index: number; span: TokenSpan }>;
  /** The hit was urgent, but its words are all inside quotation marks: see CompiledRule.inQuotesSeverity. */
  inQuotes?: boolean;
}

/** Every word of the span carries the `<in-quotes>` class (word-classes.ts). */
function insideQuotation(field: AnalysedField, span: TokenSpan): boolean {
  for (let i = span.first; i <= span.last; i++) if (!field.tokens[i]!.variants.includes('<in-quotes>')) return false;
  return true;
}

function traceAnchor(rule: CompiledRule, anchor: TokenSpan, groupHits: GroupHits, field: AnalysedField): RuleTrace {
  const quoted = field.tokens[anchor.first]!.quoted;
  const context: RuleTrace['context'] = [];
  let span = anchor;
  for (const [index, requirement] of rule.requires.entries()) {
    const found = nearest(anchor, groupHits(requirement.group), requirement);
    if (!found) return { rule, anchor, outcome: 'missing requirement', entry: { index }, context };
    span = { ...span, first: Math.min(span.first, found.first), last: Math.max(span.last, found.last) };
  }
  for (const [index, exception] of rule.except.entries()) {
    const found = nearest(anchor, groupHits(exception.group), exception);
    if (found) return { rule, anchor, outcome: 'exception', entry: { index, span: found }, context };
  }
  let score = rule.weight;
  let severity = rule.severity;
  for (const [index, modifier] of rule.context.entries()) {
    const found = nearest(anchor, groupHits(modifier.group), modifier);
    if (!found) continue;
    context.push({ index, span: found });
    score += modifier.score;
    if (modifier.severity) severity = modifier.severity;
  }
  score = Math.min(1, Math.max(0, score));
  if (score === 0) return { rule, anchor, outcome: 'zero score', context };
  if (rule.quotedSeverity && quoted) severity = rule.quotedSeverity;
  const inQuotes = severity === 'urgent' && rule.inQuotesSeverity !== 'urgent' && insideQuotation(field, anchor);
  if (inQuotes) severity = rule.inQuotesSeverity;
  return { rule, anchor, outcome: 'hit', hit: { rule, score, severity, span, anchor }, context, ...(inQuotes ? { inQuotes } : {}) };
}

/**
 * Every anchor hit of every rule, kept or dropped, with the reason. Hits are recorded per phrase;
 * a group's hits are assembled only when a rule whose anchor was hit needs them, because context
 * phrases ("you", lesson words) occur in almost every message and belong to many groups.
 */
export function traceRules(lexicon: CompiledLexicon, fields: readonly AnalysedField[]): RuleTrace[] {
  const phraseHits = new Map<number, TokenSpan[]>();
  fields.forEach((field, index) => {
    for (const hit of lexicon.matcher.match(field.tokens)) {
      let list = phraseHits.get(hit.phrase);
      if (!list) phraseHits.set(hit.phrase, (list = []));
      const token = field.tokens[hit.first]!;
      list.push({ field: index, first: hit.first, last: hit.last, sentence: token.sentence, paragraph: token.paragraph });
    }
  });
  const collect = (group: number): TokenSpan[] => lexicon.groupPhrases[group]!.flatMap((phrase) => phraseHits.get(phrase) ?? []);
  const assembled = new Map<number, TokenSpan[]>();
  const groupHits: GroupHits = (group) => {
    let list = assembled.get(group);
    if (!list) assembled.set(group, (list = outermost(collect(group))));
    return list;
  };
  const anchorGroups = new Set<number>();
  for (const phrase of phraseHits.keys()) for (const group of lexicon.phraseGroups[phrase]!) if (lexicon.rulesByAnchor.has(group)) anchorGroups.add(group);

  const traces: RuleTrace[] = [];
  for (const group of anchorGroups) {
    // Every anchor hit is evaluated, inner ones too: "die" inside "want to die tonight" may meet a
    // requirement the longer phrase does not. Hits inside a longer kept hit are dropped afterwards.
    const anchors = distinct(collect(group));
    for (const rule of lexicon.rulesByAnchor.get(group)!) {
      const ruleTraces = anchors.map((anchor): RuleTrace => {
        const field = fields[anchor.field]!;
        if (rule.fields && !rule.fields.has(fieldKind(field))) return { rule, anchor, outcome: 'wrong field', context: [] };
        if (rule.ownWords && field.tokens[anchor.first]!.quoted) return { rule, anchor, outcome: 'quoted history', context: [] };
        return traceAnchor(rule, anchor, groupHits, field);
      });
      traces.push(...withoutNestedHits(ruleTraces));
    }
  }
  return traces;
}

/** Every rule hit in the message, before category thresholds. */
export function evaluateRules(lexicon: CompiledLexicon, fields: readonly AnalysedField[]): RuleHit[] {
  return traceRules(lexicon, fields).flatMap((trace) => (trace.hit ? [trace.hit] : []));
}

export interface RuleScore {
  rule: CompiledRule;
  hits: RuleHit[];
  /** The hits that make up the score: a `distinct` rule's best hit per phrase, else all. */
  counted: RuleHit[];
  /** To 3 decimals, as reported. */
  score: number;
}

/**
 * Each rule's hits and score: hits combine as independent evidence, except that a `distinct`
 * rule counts each different phrase once (its best hit).
 */
export function scoreRules(hits: readonly RuleHit[], fields: readonly AnalysedField[]): RuleScore[] {
  const byRule = new Map<CompiledRule, RuleHit[]>();
  for (const hit of hits) byRule.set(hit.rule, [...(byRule.get(hit.rule) ?? []), hit]);
  return [...byRule].map(([rule, ruleHits]) => {
    let counted = ruleHits;
    if (rule.distinct) {
      const best = new Map<string, RuleHit>();
      for (const hit of ruleHits) {
        const words = fields[hit.span.field]!.tokens.slice(hit.span.first, hit.span.last + 1).map((t) => t.norm).join(' ');
        const kept = best.get(words);
        if (!kept || hit.score > kept.score) best.set(words, hit);
      }
      counted = [...best.values()];
    }
    return { rule, hits: ruleHits, counted, score: Number(combineScores(counted.map((h) => h.score)).toFixed(3)) };
  });
}

/**
 * Each category's score from its rules' hits, as independent evidence, where the same words count
 * once: when hits of several rules of a category overlap ("hope someone kills you" is both a death
 * wish and incitement), only the strongest counts. `signals` (findings without words) add their score.
 */
export function scoreCategories(rules: readonly RuleScore[], signals: Iterable<{ category: string; score: number }> = []): Map<string, number> {
  const byCategory = new Map<string, RuleHit[]>();
  for (const { rule, counted } of rules) byCategory.set(rule.category, [...(byCategory.get(rule.category) ?? []), ...counted]);
  const scores = new Map<string, number[]>();
  for (const [category, hits] of byCategory) scores.set(category, strongestPerOverlap(hits));
  for (const { category, score } of signals) scores.set(category, [...(scores.get(category) ?? []), score]);
  return new Map([...scores].map(([category, list]) => [category, combineScores(list)]));
}

/** The best score of each cluster of overlapping anchors: hits, of one rule or several, that read the same words. */
function strongestPerOverlap(hits: RuleHit[]): number[] {
  return overlapClusters(hits).map((cluster) => Math.max(...cluster.map((h) => h.score)));
}

/** Hits grouped where their anchors overlap (in one field), in text order. */
export function overlapClusters(hits: readonly RuleHit[]): RuleHit[][] {
  const sorted = [...hits].sort((a, b) => a.anchor.field - b.anchor.field || a.anchor.first - b.anchor.first);
  const clusters: RuleHit[][] = [];
  let reach = -1;
  for (const hit of sorted) {
    const current = clusters[clusters.length - 1];
    if (current && current[0]!.anchor.field === hit.anchor.field && hit.anchor.first <= reach) {
      current.push(hit);
      reach = Math.max(reach, hit.anchor.last);
      continue;
    }
    clusters.push([hit]);
    reach = hit.anchor.last;
  }
  return clusters;
}

/** Independent pieces of evidence combined: 1 - (1 - a)(1 - b)... */
export function combineScores(scores: Iterable<number>): number {
  let miss = 1;
  for (const s of scores) miss *= 1 - s;
  return 1 - miss;
}
