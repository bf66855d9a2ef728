import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { categoryMatchesLabel, evaluate, renderReport, type CategoryScore, type EvalReport, type LabelledResult } from '../../src/eval/metrics.js';
import { captureIo } from '../helpers/cli.js';

function result(labels: string[], predicted: string[] | null, routes: string[] = [], alsoOk: string[] = []): LabelledResult {
  return { labels, alsoOk, predicted, routes };
}

function row(rows: CategoryScore[], category: string): CategoryScore {
  const found = rows.find((r) => r.category === category);
  if (!found) throw new Error(`no row for ${category}; rows: ${rows.map((r) => r.category).join(', ')}`);
  return found;
}

describe('categoryMatchesLabel', () => {
  it('matches a category equal to the label or a dotted prefix of it, and nothing else', () => {
    expect(categoryMatchesLabel('safety.hate', 'safety.hate')).toBe(true);
    expect(categoryMatchesLabel('safety', 'safety.hate')).toBe(true);
    expect(categoryMatchesLabel('personal_data', 'personal_data.ni_number')).toBe(true);
    // A prefix must end at a dot, and a narrower category does not cover a broader label.
    expect(categoryMatchesLabel('safety.hat', 'safety.hate')).toBe(false);
    expect(categoryMatchesLabel('safety.hate', 'safety')).toBe(false);
    expect(categoryMatchesLabel('profanity', 'safety.hate')).toBe(false);
  });
});

describe('evaluate', () => {
  // One message per situation; the expected figures below are counted by hand from this table.
  const results: LabelledResult[] = [
    /* A */ result(['safety.self_harm'], ['safety.self_harm'], ['monitor', 'urgent']), // hit
    /* B */ result(['safety.hate'], ['safety'], ['monitor']), // hit through the prefix rule
    /* C */ result(['safety.bullying'], ['safety.bullying', 'profanity'], ['monitor', 'record'], ['profanity']), // extra category allowed by also_ok
    /* D */ result(['safety.self_harm'], [], []), // miss
    /* E */ result(['none'], [], []), // clean and correct
    /* F */ result(['none'], ['safety.violence'], ['monitor']), // false flag copied to the monitor
    /* G */ result(['none'], ['profanity'], ['record']), // false flag, recorded only
    /* H */ result(['none'], ['personal_data.special_category'], ['dpo'], ['personal_data.special_category']), // allowed by also_ok
    /* I */ result(['safety.violence'], null), // could not be scanned
  ];
  const lenient = evaluate(results, { strict: false, monitorRoute: 'monitor' });
  const strict = evaluate(results, { strict: true, monitorRoute: 'monitor' });

  it('counts every message and the ones that could not be scanned, and scores nothing for those', () => {
    expect(lenient.messages).toBe(9);
    expect(lenient.failed).toBe(1);
    // I's label is neither a hit nor a miss: there was no prediction to judge. The row exists for F's false flag.
    expect(row(lenient.categories, 'safety.violence')).toMatchObject({ support: 0, falsePositives: 1, falseNegatives: 0 });
  });

  it('scores per category with precision, recall and F1', () => {
    expect(row(lenient.categories, 'safety.self_harm')).toEqual({
      category: 'safety.self_harm',
      support: 2,
      truePositives: 1,
      falsePositives: 0,
      falseNegatives: 1,
      precision: 1,
      recall: 0.5,
      f1: 2 / 3,
    });
    expect(row(lenient.categories, 'safety.bullying')).toMatchObject({ support: 1, truePositives: 1, falsePositives: 0, falseNegatives: 0, precision: 1, recall: 1, f1: 1 });
  });

  it('counts a broader category as a hit for a narrower label', () => {
    // The label is recalled; the prediction, reported under its own name, is precise.
    expect(row(lenient.categories, 'safety.hate')).toMatchObject({ support: 1, truePositives: 1, falseNegatives: 0, recall: 1, precision: null });
    expect(row(lenient.categories, 'safety')).toMatchObject({ support: 0, falsePositives: 0, precision: 1, recall: null, f1: null });
  });

  it('does not count a category allowed by also_ok as a false positive unless strict', () => {
    // profanity: allowed on C, a false positive on G (a `none` message with no also_ok).
    expect(row(lenient.categories, 'profanity')).toMatchObject({ support: 0, falsePositives: 1, precision: 0 });
    expect(row(strict.categories, 'profanity')).toMatchObject({ support: 0, falsePositives: 2, precision: 0 });
    expect(row(lenient.categories, 'personal_data.special_category')).toMatchObject({ falsePositives: 0, precision: null });
    expect(row(strict.categories, 'personal_data.special_category')).toMatchObject({ falsePositives: 1, precision: 0 });
  });

  it('gives the false-flag and monitor-copy rates on messages labelled none', () => {
    // E, F, G and H are labelled none; F and G are flagged with categories nothing allows, and only F reached the monitor.
    expect(lenient.none).toMatchObject({ messages: 4, flagged: 2, falseFlagRate: 0.5, copiedToMonitor: 1, falseCopyRate: 0.25 });
    // Strict: H's allowed category counts too, but H went to the DPO, not the monitor.
    expect(strict.none).toMatchObject({ messages: 4, flagged: 3, falseFlagRate: 0.75, copiedToMonitor: 1, falseCopyRate: 0.25 });
    const otherRoute = evaluate(results, { strict: false, monitorRoute: 'dsl' });
    expect(otherRoute.none.copiedToMonitor).toBe(0);
  });

  it('counts a none message copied to the monitor for a category its also_ok allows as neither flagged nor copied', () => {
    const report = evaluate([result(['none'], ['safety.bullying'], ['monitor'], ['safety.bullying'])], { strict: false, monitorRoute: 'monitor' });
    expect(report.none).toEqual({ messages: 1, flagged: 0, falseFlagRate: 0, copiedToMonitor: 0, falseCopyRate: 0, byCategory: [] });
  });

  it('gives the false flags on none per category and per family, a message counted once in each', () => {
    // F: safety.violence (family safety); G: profanity; H allowed by also_ok unless strict.
    expect(lenient.none.byCategory).toEqual([
      { category: 'profanity', flagged: 1, rate: 0.25 },
      { category: 'safety', flagged: 1, rate: 0.25 },
      { category: 'safety.violence', flagged: 1, rate: 0.25 },
    ]);
    expect(strict.none.byCategory.map((c) => c.category)).toContain('personal_data.special_category');
    const twoOfAFamily = evaluate([result(['none'], ['safety.hate', 'safety.violence'], [])], { strict: false, monitorRoute: 'monitor' });
    expect(twoOfAFamily.none.byCategory).toEqual([
      { category: 'safety', flagged: 1, rate: 1 },
      { category: 'safety.hate', flagged: 1, rate: 1 },
      { category: 'safety.violence', flagged: 1, rate: 1 },
    ]);
  });

  it('rolls categories up to families', () => {
    // safety: labelled on A, B, C, D; found on A, B, C; flagged on F, where nothing was labelled.
    expect(row(lenient.families, 'safety')).toEqual({
      category: 'safety',
      support: 4,
      truePositives: 3,
      falsePositives: 1,
      falseNegatives: 1,
      precision: 0.75,
      recall: 0.75,
      f1: 0.75,
    });
    expect(row(lenient.families, 'profanity')).toMatchObject({ falsePositives: 1 });
    expect(row(strict.families, 'profanity')).toMatchObject({ falsePositives: 2 });
    expect(lenient.families.map((f) => f.category)).toEqual(['personal_data', 'profanity', 'safety']);
  });

  it('gives recall and false flags per source, most missed first, a family catch counting as caught', () => {
    const sourced = (source: string, labels: string[], predicted: string[] | null, alsoOk: string[] = []): LabelledResult => ({
      ...result(labels, predicted, [], alsoOk),
      source,
    });
    const report = evaluate(
      [
        sourced('tweets', ['safety.self_harm'], ['safety.violence']), // caught: the same family
        sourced('tweets', ['safety.hate'], []), // missed
        sourced('tweets', ['safety.hate', 'profanity'], ['profanity']), // caught through profanity
        sourced('tweets', ['none'], ['safety.bullying']), // false flag
        sourced('forum', ['safety.hate'], []), // missed
        sourced('forum', ['safety.hate'], []), // missed
        sourced('forum', ['none'], ['profanity'], ['profanity']), // allowed by also_ok
        sourced('forum', ['safety.hate'], null), // not scanned: left out
        result(['safety.hate'], []), // no source: in the totals only
      ],
      { strict: false, monitorRoute: 'monitor' },
    );
    expect(report.sources).toEqual([
      { source: 'forum', labelled: 2, caught: 0, recall: 0, none: 1, falseFlags: 0 },
      { source: 'tweets', labelled: 3, caught: 2, recall: 2 / 3, none: 1, falseFlags: 1 },
    ]);
    const text = renderReport(report);
    expect(text).toMatch(/^source\s+labelled\s+caught\s+missed\s+recall\s+none\s+false flags$/m);
    expect(text).toMatch(/^forum\s+2\s+0\s+2\s+0\.0%\s+1\s+0$/m);
    expect(text).toMatch(/^tweets\s+3\s+2\s+1\s+66\.7%\s+1\s+1$/m);
    expect(renderReport(lenient)).not.toContain('false flags');
  });

  it('has no rates when there is nothing to divide by', () => {
    const empty = evaluate([], { strict: false, monitorRoute: 'monitor' });
    expect(empty).toEqual({
      messages: 0,
      failed: 0,
      categories: [],
      families: [],
      none: { messages: 0, flagged: 0, falseFlagRate: null, copiedToMonitor: 0, falseCopyRate: null, byCategory: [] },
      sources: [],
    });
    expect(renderReport(empty)).toContain('messages labelled none: 0; flagged 0 (false-flag rate -); copied to the monitor 0 (-)');
  });
});

describe('kestrel eval DIR', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kestrel-eval-'));
    mkdirSync(join(dir, 'eml'));
    const eml = (subject: string, body: string): string =>
      `From: 22amorgan@pupils.oakfield.sch.uk\nTo: 23bokafor@pupils.oakfield.sch.uk\nSubject: ${subject}\nMessage-ID: <${subject}@oakfield.sch.uk>\n\n${body}\n`;
    writeFileSync(join(dir, 'eml', '1.eml'), eml('tonight', 'honestly i just want to kill myself'));
    writeFileSync(join(dir, 'eml', '2.eml'), eml('match', 'that ref was shit, see you saturday'));
    writeFileSync(join(dir, 'eml', '3.eml'), eml('trip', 'Please bring a packed lunch for the trip on Friday.'));
    // eml/4.eml is listed but never written: it cannot be scanned.
    const manifest = [
      { file: 'eml/1.eml', labels: ['safety.self_harm'], source: 'pupil chat' },
      { file: 'eml/2.eml', labels: ['none'], also_ok: ['profanity'], source: 'pupil chat' },
      { file: 'eml/3.eml', labels: ['none'], source: 'staff notices' },
      { file: 'eml/4.eml', labels: ['safety.violence'], source: 'staff notices' },
    ];
    writeFileSync(join(dir, 'manifest.jsonl'), `${manifest.map((m) => JSON.stringify(m)).join('\n')}\n`);
    // Logs go to fd 2 whatever main's io says; keep the expected "message not scanned" warning out of the test output.
    writeFileSync(join(dir, 'kestrel.yaml'), 'log:\n  level: error\n');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints per-category figures and the none rates for a manifest corpus', async () => {
    const io = captureIo();
    const code = await main(['eval', '--config', join(dir, 'kestrel.yaml'), '--jobs', '1', dir], io);
    expect(io.stderrText()).not.toMatch(/kestrel:/);
    expect(code).toBe(0);
    const out = io.stdoutText();
    expect(out).toMatch(/^4 messages, 1 could not be scanned$/m);
    // category, support, TP, FP, FN, precision, recall, F1
    expect(out).toMatch(/^safety\.self_harm\s+1\s+1\s+0\s+0\s+100\.0%\s+100\.0%\s+100\.0%$/m);
    // 2.eml's profanity is allowed by its also_ok: no false positive, and nothing to divide by.
    expect(out).toMatch(/^profanity\s+0\s+0\s+0\s+0\s+-\s+-\s+-\s*$/m);
    expect(out).toMatch(/^safety\s+1\s+1\s+0\s+0\s+100\.0%\s+100\.0%\s+100\.0%$/m);
    expect(out).toContain('messages labelled none: 2; flagged 0 (false-flag rate 0.0%); copied to the monitor 0 (0.0%)');
    // Kestrel beside the word-list baseline: 2.eml's "shit" is the baseline's false flag too, allowed by also_ok.
    expect(out).toMatch(/^kestrel\s+100\.0%\s+100\.0%\s+-\s+-\s+0\.0%\s+0\.0%$/m);
    // Per manifest source; 4.eml could not be scanned, so staff notices has no labelled message to score.
    expect(out).toMatch(/^pupil chat\s+1\s+1\s+0\s+100\.0%\s+1\s+0$/m);
    expect(out).toMatch(/^staff notices\s+0\s+0\s+0\s+-\s+1\s+0$/m);
  });

  it('counts also_ok findings as false flags with --strict, and gives the report as JSON with --json', async () => {
    const io = captureIo();
    expect(await main(['eval', '--config', join(dir, 'kestrel.yaml'), '--strict', '--json', '--jobs', '1', dir], io)).toBe(0);
    const report = JSON.parse(io.stdoutText()) as EvalReport;
    expect(report.messages).toBe(4);
    expect(report.failed).toBe(1);
    expect(row(report.categories, 'profanity')).toMatchObject({ falsePositives: 1, precision: 0 });
    // The profanity is only recorded, never copied to the monitor.
    expect(report.none).toEqual({ messages: 2, flagged: 1, falseFlagRate: 0.5, copiedToMonitor: 0, falseCopyRate: 0, byCategory: [{ category: 'profanity', flagged: 1, rate: 0.5 }] });
    const io2 = captureIo();
    expect(await main(['eval', '--config', join(dir, 'kestrel.yaml'), '--strict', '--jobs', '1', dir], io2)).toBe(0);
    expect(io2.stdoutText()).toContain('  by category: profanity 1 (50.0%)');
  });

  it('with --benign, reads no manifest and counts every .eml under DIR as ordinary mail', async () => {
    const io = captureIo();
    // DIR/eml holds one self-harm message and two ordinary ones; manifest.jsonl and kestrel.yaml are not mail.
    expect(await main(['eval', '--config', join(dir, 'kestrel.yaml'), '--benign', '--json', '--jobs', '1', dir], io)).toBe(0);
    const report = JSON.parse(io.stdoutText()) as EvalReport;
    expect(report.messages).toBe(3);
    expect(report.none).toMatchObject({ messages: 3, copiedToMonitor: 1 });
    expect(report.none.byCategory).toContainEqual({ category: 'safety.self_harm', flagged: 1, rate: 1 / 3 });
  });

  it('refuses --benign on a folder without .eml files', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kestrel-eval-empty-'));
    try {
      const io = captureIo();
      expect(await main(['eval', '--benign', empty], io)).toBe(2);
      expect(io.stderrText()).toContain(`no .eml files under ${empty}`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  /** `kestrel eval` on a folder holding only this manifest: its exit code, stderr and the manifest's path. */
  async function evalOfManifest(manifest: string): Promise<{ code: number; stderr: string; path: string }> {
    const bad = mkdtempSync(join(tmpdir(), 'kestrel-eval-bad-'));
    try {
      const path = join(bad, 'manifest.jsonl');
      writeFileSync(path, manifest);
      const io = captureIo();
      const code = await main(['eval', bad], io);
      return { code, stderr: io.stderrText(), path };
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  }

  it('refuses a manifest line whose source is not a string, with its file:line', async () => {
    const { code, stderr, path } = await evalOfManifest('{"file": "a.eml", "labels": ["none"], "source": 7}\n');
    expect(code).toBe(2);
    expect(stderr).toContain(`${path}:1: "source" must be a string`);
  });

  it('refuses a manifest line without labels with its file:line', async () => {
    const { code, stderr, path } = await evalOfManifest('{"file": "a.eml", "labels": ["none"]}\n{"file": "b.eml"}\n');
    expect(code).toBe(2);
    expect(stderr).toContain(`${path}:2: needs "file" (string) and "labels" (non-empty list)`);
  });
});
