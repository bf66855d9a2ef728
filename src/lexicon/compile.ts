/**
 * Loads every lexicon file, validates it and compiles all rules into one PhraseMatcher.
 * A broken file fails loading with `file:line: what is wrong`, every problem listed at once.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isRuleDisabled } from '../config/schema.js';
import { parseYaml, validate, SourceError, type YamlSource } from '../config/yaml-source.js';
import { severityRank, type Severity } from '../scan/types.js';
import { gluedSpellings } from './glued.js';
import { PhraseMatcher } from './matcher.js';
import { parsePatternTree, PatternError, type TermSets } from './pattern.js';
import { lexiconFileSchema, type LexiconFileSource, type RuleCondition, type Side } from './schema.js';

export interface TermGroupRef {
  group: number;
  /** The entry's terms as written, for messages. */
  terms: string[];
  within: number;
  side: Side;
  /** Only within the match's own sentence. */
  sameSentence: boolean;
  /** Only within the match's own paragraph (context entries). */
  sameParagraph: boolean;
}

export interface CompiledRule {
  id: string;
  description: string;
  category: string;
  severity: Severity;
  weight: number;
  /** Repeats of the same matched words count once towards the rule's score. */
  distinct: boolean;
  policy: string;
  fields: ReadonlySet<string> | null;
  /** Hits in quoted or forwarded history are dropped. */
  ownWords: boolean;
  /** Message facts the rule applies to (sender and recipient roles, direction); all messages when absent. */
  when?: RuleCondition;
  /** The rule's own `terms`, as written. */
  terms: string[];
  anchor: number;
  requires: TermGroupRef[];
  except: TermGroupRef[];
  context: Array<TermGroupRef & { score: number; severity?: Severity; as?: string }>;
  /** Severity when the matched words are in quoted history (config `contextSeverity.quoted`). */
  quotedSeverity?: Severity;
  /**
   * What an urgent hit whose matched words all sit inside quotation marks becomes (config
   * `contextSeverity.in_quotes`, default severe): a lyric, a book's line or a text someone was
   * sent still reaches the monitor, but pages no one.
   */
  inQuotesSeverity: Severity;
  mustMatch: string[];
  mustNotMatch: string[];
  /** `file:line` of the rule, for messages to lexicon authors. */
  origin: string;
}

export interface CompiledLexicon {
  matcher: PhraseMatcher;
  /** phrase id -> the term groups it belongs to */
  phraseGroups: number[][];
  /** term group -> its phrase ids */
  groupPhrases: number[][];
  groupCount: number;
  rules: CompiledRule[];
  /** anchor group -> rules anchored on it */
  rulesByAnchor: Map<number, CompiledRule[]>;
  thresholds: Map<string, number>;
  sets: TermSets;
  files: string[];
}

const LEXICON_EXTENSIONS = /\.ya?ml$/;

/** Lexicon files under each path (a file, or a folder searched recursively), sorted. */
export function lexiconFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  const visit = (path: string): void => {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (error as Error).message;
      throw new SourceError([`${displayName(path)}: cannot read lexicons: ${reason}`]);
    }
    if (isDirectory) {
      for (const name of readdirSync(path).sort()) if (!name.startsWith('.')) visit(join(path, name));
    } else if (LEXICON_EXTENSIONS.test(path)) {
      files.push(path);
    }
  };
  for (const path of paths) visit(path);
  return files;
}

function displayName(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}

class LexiconBuilder {
  constructor(private readonly sets: TermSets) {}

  readonly matcher = new PhraseMatcher();
  readonly phraseGroups: number[][] = [];
  private readonly phraseIds = new Map<string, number>();
  groupCount = 0;

  /** Compile a list of terms into a new group; pattern errors are reported against each term's line. */
  addGroup(terms: readonly string[], source: YamlSource, path: readonly PropertyKey[], problems: string[]): number {
    const group = this.groupCount++;
    terms.forEach((term, index) => {
      // Sets are global, so the same term text always means the same phrase: compile it once.
      let phrase = this.phraseIds.get(term);
      if (phrase === undefined) {
        let tree;
        try {
          tree = parsePatternTree(term, this.sets);
        } catch (error) {
          if (!(error instanceof PatternError)) throw error;
          problems.push(`${source.file}:${source.lineOf([...path, index])}: ${error.message}`);
          return;
        }
        phrase = this.matcher.add(tree);
        for (const spelling of gluedSpellings(tree)) this.matcher.addSpelling(spelling, phrase);
        this.phraseIds.set(term, phrase);
        this.phraseGroups[phrase] = [];
      }
      const groups = this.phraseGroups[phrase]!;
      if (!groups.includes(group)) groups.push(group);
    });
    return group;
  }
}

function invert(phraseGroups: readonly number[][], groupCount: number): number[][] {
  const groupPhrases: number[][] = Array.from({ length: groupCount }, () => []);
  phraseGroups.forEach((groups, phrase) => {
    for (const group of groups) groupPhrases[group]!.push(phrase);
  });
  return groupPhrases;
}

export interface CompileOptions {
  /** Rule ids, or prefixes of ids ending in `.`, to leave out. */
  disabledRules?: readonly string[];
  /** Severity for context entries named with `as`, set by the trust (config `contextSeverity`). */
  contextSeverity?: Readonly<Record<string, Severity>>;
}


interface LoadedFile {
  source: YamlSource;
  lexicon: LexiconFileSource;
}

/** Parse and validate every file; problems are collected, not thrown, so all are reported at once. */
function loadFiles(files: readonly string[], problems: string[]): LoadedFile[] {
  const loaded: LoadedFile[] = [];
  for (const file of files) {
    try {
      const source = parseYaml(displayName(file), readFileSync(file, 'utf8'));
      loaded.push({ source, lexicon: validate(source, lexiconFileSchema) });
    } catch (error) {
      if (!(error instanceof SourceError)) throw error;
      problems.push(...error.problems);
    }
  }
  return loaded;
}

/** Every file's `sets`, by name; each set's own phrases are checked where they are written. */
function collectSets(loaded: readonly LoadedFile[], problems: string[]): TermSets {
  const sets = new Map<string, string[]>();
  const origins = new Map<string, string>();
  for (const { source, lexicon } of loaded) {
    for (const [name, terms] of Object.entries(lexicon.sets ?? {})) {
      const origin = `${source.file}:${source.lineOf(['sets', name])}`;
      const earlier = origins.get(name);
      if (earlier) problems.push(`${origin}: set @${name} is already defined at ${earlier}`);
      else {
        origins.set(name, origin);
        sets.set(name, terms);
      }
    }
  }
  for (const { source, lexicon } of loaded) {
    for (const [name, terms] of Object.entries(lexicon.sets ?? {})) {
      terms.forEach((term, index) => {
        try {
          parsePatternTree(term, sets);
        } catch (error) {
          if (!(error instanceof PatternError)) throw error;
          problems.push(`${source.file}:${source.lineOf(['sets', name, index])}: ${error.message}`);
        }
      });
    }
  }
  return sets;
}

/** Load and compile the lexicon files under `paths`. Throws SourceError listing every problem. */
export function compileLexicons(paths: readonly string[], options: CompileOptions = {}): CompiledLexicon {
  const problems: string[] = [];
  const files = lexiconFiles(paths);
  const loaded = loadFiles(files, problems);
  const sets = collectSets(loaded, problems);
  const builder = new LexiconBuilder(sets);
  const rules: CompiledRule[] = [];
  const thresholds = new Map<string, { value: number; origin: string }>();
  const ruleOrigins = new Map<string, string>();
  const disabled = options.disabledRules ?? [];

  for (const { source, lexicon } of loaded) {
    const { category, policy } = lexicon;
    // The schema requires both wherever there are rules.
    if (!lexicon.rules || !category || !policy) continue;
    const thresholdOrigin = `${source.file}:${source.lineOf(['threshold'])}`;
    const known = thresholds.get(category);
    if (known && known.value !== lexicon.threshold) {
      problems.push(`${thresholdOrigin}: threshold ${lexicon.threshold} for ${category} differs from ${known.value} set at ${known.origin}`);
    } else if (!known) {
      thresholds.set(category, { value: lexicon.threshold, origin: thresholdOrigin });
    }

    lexicon.rules.forEach((rule, r) => {
      const at = ['rules', r];
      const origin = `${source.file}:${source.lineOf(at)}`;
      const earlier = ruleOrigins.get(rule.id);
      if (earlier) {
        problems.push(`${origin}: rule id ${rule.id} is already used at ${earlier}`);
        return;
      }
      ruleOrigins.set(rule.id, origin);
      if (isRuleDisabled(rule.id, disabled)) return;
      const refs = (entries: ReadonlyArray<{ terms: string[]; within: number; side: Side; sentence: boolean }>, key: string): TermGroupRef[] =>
        entries.map((entry, e) => ({
          group: builder.addGroup(entry.terms, source, [...at, key, e, 'terms'], problems),
          terms: entry.terms,
          within: entry.within,
          side: entry.side,
          sameSentence: entry.sentence,
          sameParagraph: false,
        }));
      const requires = refs(rule.requires, 'requires');
      const except = refs(rule.except, 'except');
      const context = refs(rule.context, 'context').map((ref, c) => {
        const modifier = rule.context[c]!;
        const severity = (modifier.as && options.contextSeverity?.[modifier.as]) || modifier.severity;
        // A lesson or story word in another paragraph of a long mail says nothing about this one;
        // words that raise a concern ("tomorrow", "at school") still count from the next line.
        const lowers = modifier.score < 0 || (severity !== undefined && severityRank(severity) < severityRank(rule.severity));
        return { ...ref, sameParagraph: lowers, score: modifier.score, ...(severity ? { severity } : {}), ...(modifier.as ? { as: modifier.as } : {}) };
      });
      rules.push({
        id: rule.id,
        description: rule.description,
        category,
        severity: rule.severity,
        weight: rule.weight,
        distinct: rule.distinct,
        policy: rule.policy ?? policy,
        fields: rule.fields ? new Set(rule.fields) : null,
        ownWords: rule.ownWords,
        ...(rule.when ? { when: rule.when } : {}),
        terms: rule.terms,
        ...(options.contextSeverity?.quoted ? { quotedSeverity: options.contextSeverity.quoted } : {}),
        inQuotesSeverity: options.contextSeverity?.in_quotes ?? 'severe',
        anchor: builder.addGroup(rule.terms, source, [...at, 'terms'], problems),
        requires,
        except,
        context,
        mustMatch: rule.mustMatch,
        mustNotMatch: rule.mustNotMatch,
        origin,
      });
    });
  }

  if (problems.length > 0) throw new SourceError(problems);
  const rulesByAnchor = new Map<number, CompiledRule[]>();
  for (const rule of rules) {
    const list = rulesByAnchor.get(rule.anchor) ?? [];
    list.push(rule);
    rulesByAnchor.set(rule.anchor, list);
  }
  return {
    matcher: builder.matcher,
    phraseGroups: builder.phraseGroups,
    groupPhrases: invert(builder.phraseGroups, builder.groupCount),
    groupCount: builder.groupCount,
    rules,
    rulesByAnchor,
    thresholds: new Map([...thresholds].map(([category, t]) => [category, t.value])),
    sets,
    files,
  };
}
