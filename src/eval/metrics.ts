/**
 * Detection quality against a labelled corpus: per-category precision, recall and F1, and the
 * false-flag rate on messages labelled `none`. A category matches a label when it is equal to it
 * or a prefix of it (`safety` matches `safety.hate`).
 */

export interface LabelledResult {
  labels: string[];
  alsoOk: string[];
  /** Categories Kestrel reported; null when the message could not be scanned. */
  predicted: string[] | null;
  /** Routes the findings triggered. */
  routes: string[];
  /** Where the message came from (a manifest's `source`), for the per-source table. */
  source?: string;
}

export interface CategoryScore {
  category: string;
  /** Messages carrying the label. */
  support: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface EvalReport {
  messages: number;
  failed: number;
  categories: CategoryScore[];
  /** The same, rolled up to the part before the first dot (safety, personal_data, ...). */
  families: CategoryScore[];
  /**
   * Messages labelled `none`: how many were flagged with a category their labels do not allow
   * (`also_ok` allows, unless strict), and how many of those were copied to the monitor.
   */
  none: {
    messages: number;
    flagged: number;
    falseFlagRate: number | null;
    copiedToMonitor: number;
    falseCopyRate: number | null;
    /** Per category and per family (`safety`), the messages labelled none it flagged, most first. */
    byCategory: NoneFlags[];
  };
  /** Per manifest `source`, most missed first; empty when the manifest names no sources. */
  sources: SourceScore[];
}

/**
 * One source of a corpus: of its labelled messages, how many Kestrel caught (a category of the
 * family of one of the labels, as the family figures count); of its `none` messages, how many it
 * flagged wrongly. Messages that could not be scanned are left out.
 */
export interface SourceScore {
  source: string;
  labelled: number;
  caught: number;
  recall: number | null;
  none: number;
  falseFlags: number;
}

export interface NoneFlags {
  category: string;
  flagged: number;
  rate: number;
}

export function categoryMatchesLabel(category: string, label: string): boolean {
  return label === category || label.startsWith(`${category}.`);
}

function family(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? name : name.slice(0, dot);
}

class Tally {
  readonly counts = new Map<string, { support: number; tpGold: number; tpPredicted: number; fp: number; fn: number }>();

  entry(category: string) {
    let e = this.counts.get(category);
    if (!e) this.counts.set(category, (e = { support: 0, tpGold: 0, tpPredicted: 0, fp: 0, fn: 0 }));
    return e;
  }

  /** Score one message whose labels and predictions are already mapped to this tally's names. */
  add(gold: readonly string[], alsoOk: readonly string[], predicted: readonly string[]): void {
    for (const label of gold) {
      const e = this.entry(label);
      e.support++;
      if (predicted.some((p) => categoryMatchesLabel(p, label))) e.tpGold++;
      else e.fn++;
    }
    for (const category of predicted) {
      const e = this.entry(category);
      if (gold.some((label) => categoryMatchesLabel(category, label))) e.tpPredicted++;
      else if (!alsoOk.some((label) => categoryMatchesLabel(category, label))) e.fp++;
    }
  }

  scores(): CategoryScore[] {
    const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);
    return [...this.counts]
      .map(([category, e]) => {
        const precision = ratio(e.tpPredicted, e.tpPredicted + e.fp);
        const recall = ratio(e.tpGold, e.tpGold + e.fn);
        const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : null;
        return { category, support: e.support, truePositives: e.tpGold, falsePositives: e.fp, falseNegatives: e.fn, precision, recall, f1 };
      })
      .sort((a, b) => a.category.localeCompare(b.category));
  }
}

export function evaluate(results: readonly LabelledResult[], options: { strict: boolean; monitorRoute: string }): EvalReport {
  const categories = new Tally();
  const families = new Tally();
  let failed = 0;
  let noneMessages = 0;
  let noneFlagged = 0;
  let noneCopied = 0;
  const noneByCategory = new Map<string, number>();
  const sources = new Map<string, SourceScore>();
  const sourceOf = (name: string): SourceScore => {
    let score = sources.get(name);
    if (!score) sources.set(name, (score = { source: name, labelled: 0, caught: 0, recall: null, none: 0, falseFlags: 0 }));
    return score;
  };
  for (const result of results) {
    const gold = result.labels.filter((l) => l !== 'none');
    if (result.predicted === null) {
      failed++;
      continue;
    }
    const alsoOk = options.strict ? [] : result.alsoOk;
    categories.add(gold, alsoOk, result.predicted);
    const unique = (names: readonly string[]) => [...new Set(names.map(family))];
    const predictedFamilies = unique(result.predicted);
    families.add(unique(gold), unique(alsoOk), predictedFamilies);
    const source = result.source === undefined ? undefined : sourceOf(result.source);
    if (source && gold.length > 0) {
      source.labelled++;
      if (gold.some((label) => predictedFamilies.includes(family(label)))) source.caught++;
    }
    if (gold.length === 0) {
      noneMessages++;
      // As for the categories, a finding the labels allow (also_ok) is not a false flag unless strict.
      const wrong = result.predicted.filter((category) => !alsoOk.some((label) => categoryMatchesLabel(category, label)));
      const falseFlag = wrong.length > 0;
      for (const name of new Set([...wrong, ...wrong.map(family)])) noneByCategory.set(name, (noneByCategory.get(name) ?? 0) + 1);
      if (falseFlag) noneFlagged++;
      if (source) {
        source.none++;
        if (falseFlag) source.falseFlags++;
      }
      if (falseFlag && result.routes.includes(options.monitorRoute)) noneCopied++;
    }
  }
  return {
    messages: results.length,
    failed,
    categories: categories.scores(),
    families: families.scores(),
    none: {
      messages: noneMessages,
      flagged: noneFlagged,
      falseFlagRate: noneMessages ? noneFlagged / noneMessages : null,
      copiedToMonitor: noneCopied,
      falseCopyRate: noneMessages ? noneCopied / noneMessages : null,
      byCategory: [...noneByCategory]
        .map(([category, flagged]) => ({ category, flagged, rate: flagged / noneMessages }))
        .sort((a, b) => b.flagged - a.flagged || a.category.localeCompare(b.category)),
    },
    sources: [...sources.values()]
      .map((score) => ({ ...score, recall: score.labelled ? score.caught / score.labelled : null }))
      .sort((a, b) => b.labelled - b.caught - (a.labelled - a.caught) || b.falseFlags - a.falseFlags || a.source.localeCompare(b.source)),
  };
}

function percent(value: number | null): string {
  return value === null ? '   -  ' : `${(value * 100).toFixed(1).padStart(5)}%`;
}

/** Kestrel beside the word-list baseline: the safety family, profanity, and false flags on `none`. */
export function renderComparison(kestrel: EvalReport, baseline: EvalReport): string {
  const family = (report: EvalReport, name: string) => report.families.find((f) => f.category === name);
  const row = (label: string, report: EvalReport) => {
    const safety = family(report, 'safety');
    const profanity = family(report, 'profanity');
    const safetyOnNone = report.none.messages ? (report.none.byCategory.find((c) => c.category === 'safety')?.rate ?? 0) : null;
    return `${label.padEnd(34)} ${percent(safety?.precision ?? null)}  ${percent(safety?.recall ?? null)}     ${percent(profanity?.precision ?? null)}  ${percent(profanity?.recall ?? null)}     ${percent(report.none.falseFlagRate)}      ${percent(safetyOnNone)}`;
  };
  return [
    `${'same messages'.padEnd(34)} safety P  safety R  profanity P  prof. R  none flagged  none flagged safety`,
    row('kestrel', kestrel),
    row('baseline: obscenity word list', baseline),
  ].join('\n');
}

/** Where the misses and false flags are, source by source (the corpus manifest's `source`). */
function renderSources(sources: readonly SourceScore[]): string {
  const width = Math.max(34, ...sources.map((s) => s.source.length));
  const count = (n: number, pad: number) => String(n).padStart(pad);
  return [
    `${'source'.padEnd(width)} labelled  caught  missed  recall     none  false flags`,
    ...sources.map(
      (s) =>
        `${s.source.padEnd(width)} ${count(s.labelled, 8)} ${count(s.caught, 7)} ${count(s.labelled - s.caught, 7)}  ${percent(s.recall)}  ${count(s.none, 7)}  ${count(s.falseFlags, 11)}`,
    ),
  ].join('\n');
}

export function renderReport(report: EvalReport): string {
  const header = `${'category'.padEnd(34)} ${'support'.padStart(7)} ${'TP'.padStart(5)} ${'FP'.padStart(5)} ${'FN'.padStart(5)}  precision  recall      F1`;
  const line = (s: CategoryScore): string =>
    `${s.category.padEnd(34)} ${String(s.support).padStart(7)} ${String(s.truePositives).padStart(5)} ${String(s.falsePositives).padStart(5)} ${String(s.falseNegatives).padStart(5)}     ${percent(s.precision)}  ${percent(s.recall)}  ${percent(s.f1)}`;
  const { none } = report;
  return [
    `${report.messages} messages, ${report.failed} could not be scanned`,
    '',
    header,
    ...report.categories.map(line),
    '',
    header.replace('category', 'family  '),
    ...report.families.map(line),
    '',
    `messages labelled none: ${none.messages}; flagged ${none.flagged} (false-flag rate ${percent(none.falseFlagRate).trim()}); copied to the monitor ${none.copiedToMonitor} (${percent(none.falseCopyRate).trim()})`,
    ...(none.byCategory.length ? [`  by category: ${none.byCategory.map((c) => `${c.category} ${c.flagged} (${percent(c.rate).trim()})`).join(', ')}`] : []),
    ...(report.sources.length ? ['', renderSources(report.sources)] : []),
  ].join('\n');
}
