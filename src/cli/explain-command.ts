/**
 * `kestrel explain PATH...`: why each message scored what it did. Every rule whose phrase was
 * found, whether it counted (and the context that changed its score) or why it was dropped
 * (missing requirement, exception, field, `when`), then each category's score against its
 * threshold, then the verdict. Runs in one process, with no time bound: a tool for authors.
 */
import type { KestrelConfig } from '../config/schema.js';
import type { CompiledRule, TermGroupRef } from '../lexicon/compile.js';
import { overlapClusters, traceRules, type RuleHit, type RuleTrace, type TokenSpan } from '../lexicon/engine.js';
import { fitsCondition, scoreHits } from '../scan/detectors/lexicon.js';
import { createChainStructureSignals } from '../scan/detectors/chain-mail/structure.js';
import { createAnalyser, createScanner, detectorContext, loadLexicon } from '../scan/pipeline.js';
import type { AnalysedMessage } from '../scan/types.js';
import { isFailure, readMessages } from '../sources/index.js';
import { EXIT } from './errors.js';
import { processIo, type CliIo } from './io.js';

function quoteSpan(message: AnalysedMessage, span: TokenSpan): string {
  const field = message.fields[span.field]!;
  const text = field.text.slice(field.tokens[span.first]!.start, field.tokens[span.last]!.end).replace(/\s+/g, ' ');
  return `${field.field} ${JSON.stringify(text)}${field.tokens[span.first]!.quoted ? ' (quoted)' : ''}`;
}

function describeEntry(ref: TermGroupRef): string {
  const terms = ref.terms.length > 3 ? [...ref.terms.slice(0, 3), '…'] : ref.terms;
  return `${terms.join(' | ')} within ${ref.within}${ref.side === 'either' ? '' : ` ${ref.side}`}`;
}

function describeWhen(rule: CompiledRule, message: AnalysedMessage): string {
  const roles = [...message.to, ...message.cc, ...message.bcc].map((p) => p.role);
  return `when ${JSON.stringify(rule.when)} does not fit (from ${message.from?.role ?? 'unknown'}, to ${[...new Set(roles)].join('/') || 'nobody'}, ${message.direction})`;
}

/**
 * For each hit that another rule of its category read in the same words, the rule whose score
 * counts instead (see scoreCategories): so the explanation adds up to the category score.
 */
function countedOnceWith(traces: readonly RuleTrace[], message: AnalysedMessage): Map<RuleHit, RuleHit> {
  const applied = traces.flatMap((t) => (t.hit && fitsCondition(t.rule.when, message) ? [t.hit] : []));
  const byCategory = new Map<string, RuleHit[]>();
  for (const hit of applied) byCategory.set(hit.rule.category, [...(byCategory.get(hit.rule.category) ?? []), hit]);
  const weaker = new Map<RuleHit, RuleHit>();
  for (const hits of byCategory.values()) {
    for (const cluster of overlapClusters(hits)) {
      const rules = new Set(cluster.map((h) => h.rule));
      if (rules.size < 2) continue;
      const best = cluster.reduce((a, b) => (b.score > a.score ? b : a));
      for (const hit of cluster) if (hit.rule !== best.rule) weaker.set(hit, best);
    }
  }
  return weaker;
}

function explainTrace(trace: RuleTrace, message: AnalysedMessage, countedWith: ReadonlyMap<RuleHit, RuleHit>): string[] {
  const { rule } = trace;
  const head = `${rule.id} [${rule.category}] ${quoteSpan(message, trace.anchor)}`;
  switch (trace.outcome) {
    case 'hit': {
      if (!fitsCondition(rule.when, message)) return [`  - ${head}: not applied, ${describeWhen(rule, message)}`];
      const hit = trace.hit!;
      return [
        `  + ${head}: score ${hit.score.toFixed(2)} (weight ${rule.weight}), ${hit.severity}${countedWith.has(hit) ? `; same words as ${countedWith.get(hit)!.rule.id}, which counts instead` : ''}`,
        ...trace.context.map((c) => {
          const entry = rule.context[c.index]!;
          const change = [entry.score ? `score ${entry.score > 0 ? '+' : ''}${entry.score}` : '', entry.severity ? `severity ${entry.severity}` : ''].filter(Boolean).join(', ');
          return `      context[${c.index}] ${quoteSpan(message, c.span)}: ${change}`;
        }),
        ...(trace.inQuotes ? [`      inside quotation marks: ${hit.severity} instead of urgent (in_quotes)`] : []),
      ];
    }
    case 'missing requirement':
      return [`  - ${head}: dropped, requires[${trace.entry!.index}] not found (${describeEntry(rule.requires[trace.entry!.index]!)})`];
    case 'exception':
      return [`  - ${head}: dropped, except[${trace.entry!.index}] matched ${quoteSpan(message, trace.entry!.span!)}`];
    case 'wrong field':
      return [`  - ${head}: not applied, the rule reads only ${[...rule.fields!].join(', ')}`];
    case 'quoted history':
      return [`  - ${head}: not applied, the rule reads only the sender's own words and this is quoted history`];
    case 'zero score':
      return [`  - ${head}: dropped, context brought the score to 0`];
  }
}

export async function runExplain(config: KestrelConfig, options: { paths: string[]; json: boolean }, io: CliIo = processIo()): Promise<number> {
  const lexicon = loadLexicon(config);
  const analyse = createAnalyser(config);
  const context = detectorContext(config);
  const scanner = createScanner(config, { lexicon });
  const structure = createChainStructureSignals(config);
  const ruleIds = new Set(lexicon.rules.map((r) => r.id));
  let failed = 0;
  for await (const item of readMessages(options.paths, { maxMessageBytes: config.scan.maxMessageBytes })) {
    const name = item.index === undefined ? item.file : `${item.file}#${item.index}`;
    if (isFailure(item)) {
      failed++;
      io.stdout.write(`== ${name}\n  could not be read: ${item.error}\n`);
      continue;
    }
    const message = await analyse(item.raw);
    const traces = traceRules(lexicon, message.fields);
    const signals = structure.detect(message, context);
    const { categories } = scoreHits(lexicon, traces.flatMap((t) => (t.hit ? [t.hit] : [])), message, context, signals);
    // The verdict is the scanner's own, so explain never disagrees with scan; the cross-message
    // chain-mail signal needs other messages and is not applied here.
    const { spread: _spread, ...report } = scanner.report(message);
    const signalRules = new Set(signals.map((f) => f.rule));
    const detectorFindings = report.findings.filter((f) => !ruleIds.has(f.rule) && !signalRules.has(f.rule));
    if (options.json) {
      const rules = traces.map((t) => ({ rule: t.rule.id, category: t.rule.category, at: quoteSpan(message, t.anchor), outcome: t.hit && !fitsCondition(t.rule.when, message) ? 'when' : t.outcome, score: t.hit?.score, severity: t.hit?.severity }));
      io.stdout.write(`${JSON.stringify({ file: item.file, ...(item.index === undefined ? {} : { index: item.index }), rules, categories, report })}\n`);
      continue;
    }
    const roles = [...new Set([...message.to, ...message.cc, ...message.bcc].map((p) => p.role))].join('/') || 'nobody';
    const countedWith = countedOnceWith(traces, message);
    const lines = [
      `== ${name}`,
      `${message.direction}, from ${message.from?.role ?? 'unknown sender'} to ${roles}; ${message.fields.map((f) => `${f.field} ${f.tokens.length} words`).join(', ')}`,
      ...(message.problems.length ? [`problems: ${message.problems.join('; ')}`] : []),
      traces.length ? 'rules whose phrases were found:' : 'no rule phrase was found',
      ...traces.flatMap((t) => explainTrace(t, message, countedWith)),
      ...(signals.length ? ['message structure (joins its category score):'] : []),
      ...signals.map((f) => `  + ${f.rule} [${f.category}] ${f.evidence[0]?.excerpt ?? ''}: score ${f.score.toFixed(2)}`),
      ...(categories.length ? ['categories:'] : []),
      ...categories.map((c) => `  ${c.category}: ${c.score.toFixed(2)} ${c.reported ? '>=' : '<'} threshold ${c.threshold}: ${c.reported ? 'reported' : 'not reported'}`),
      ...(detectorFindings.length ? ['other detectors (personal data, pupil email, acceptable use; values masked):'] : []),
      ...detectorFindings.map((f) => `  - ${f.rule} (${f.severity}): ${f.description}; ${f.evidence.map((e) => `${e.field} "${e.excerpt}"`).join(', ')}`),
      report.flagged ? `verdict: flagged, ${report.severity}; routes: ${report.routes.join(', ') || 'none'}` : 'verdict: not flagged',
      '',
    ];
    io.stdout.write(`${lines.join('\n')}\n`);
  }
  return failed > 0 ? EXIT.failedMessages : EXIT.ok;
}
