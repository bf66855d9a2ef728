/**
 * One matcher for every phrase of every rule, walked once per field.
 *
 * Each phrase compiles into a small automaton over tokens (choices and gaps become branching
 * transitions, never copies of the rest of the phrase); all phrases hang off one shared root, so
 * the first token of every phrase is found with one index lookup. Phrases share no state beyond
 * the root: a shared state would let one phrase continue into another's words. Cost grows with
 * the text and the phrases in progress, not with the number of rules.
 */
import type { Token } from '../scan/types.js';
import type { PatternItem, TokenSpec } from './pattern.js';
import { stem } from './stem.js';

/** Porter is quadratic on long consonant runs; no word worth stemming is this long (elongations are squeezed in variants). */
const MAX_STEM_LENGTH = 40;

/** A character trie of prefix specs; `targets` are the states a token with this prefix leads to. */
interface PrefixNode {
  next: Map<string, PrefixNode>;
  targets: State[] | null;
}

class State {
  constructor(readonly id: number) {}

  words: Map<string, State[]> | null = null;
  stems: Map<string, State[]> | null = null;
  /**
   * First two letters of every stem key here. Porter only rewrites endings, so a word can share a
   * stem only if it starts the same way: most tokens are ruled out without stemming them.
   */
  stemHeads: Set<string> | null = null;
  prefixes: PrefixNode | null = null;
  any: State[] | null = null;
  /** Phrase ids that end here. */
  accepts: number[] | null = null;
  hasTransitions = false;

  /** Add a transition on `spec` to `target`. */
  link(spec: TokenSpec, target: State): void {
    this.hasTransitions = true;
    const add = (map: Map<string, State[]>, key: string) => {
      const list = map.get(key);
      if (!list) map.set(key, [target]);
      else if (!list.includes(target)) list.push(target);
    };
    switch (spec.kind) {
      case 'word':
        for (const w of spec.words) add((this.words ??= new Map()), w);
        break;
      case 'stem':
        add((this.stems ??= new Map()), spec.stem);
        (this.stemHeads ??= new Set()).add(spec.stem.slice(0, 2));
        break;
      case 'prefix': {
        let node = (this.prefixes ??= { next: new Map(), targets: null });
        for (const ch of spec.prefix) {
          let next = node.next.get(ch);
          if (!next) node.next.set(ch, (next = { next: new Map(), targets: null }));
          node = next;
        }
        (node.targets ??= []).push(target);
        break;
      }
      case 'any':
        (this.any ??= []).push(target);
        break;
    }
  }
}

/** A phrase found in one field: tokens [first, last] inclusive. */
export interface PhraseHit {
  phrase: number;
  first: number;
  last: number;
}

/**
 * A state of the lazily built deterministic automaton: the set of phrase states reached from one
 * start token by the words read since. Its successor for a spelling is computed once and cached,
 * so matching costs one lookup per live run per token, however many phrases share a first word.
 */
class RunState {
  readonly next = new Map<string, RunState>();
  readonly accepts: number[] | null;
  readonly live: boolean;

  constructor(readonly states: readonly State[]) {
    const accepts = [...new Set(states.flatMap((s) => s.accepts ?? []))];
    this.accepts = accepts.length > 0 ? accepts : null;
    this.live = states.some((s) => s.hasTransitions);
  }
}

/** Bounds on the lazily built automaton: past them its caches are dropped and rebuilt as needed. */
const MAX_RUN_STATES = 50_000;
const MAX_CACHED_SPELLINGS = 20_000;
/** The start state sees every word of the mail's vocabulary: a larger cache keeps it from thrashing. */
const MAX_CACHED_START_SPELLINGS = 200_000;

export class PhraseMatcher {
  private readonly root = new State(0);
  private phraseCount = 0;
  /** Phrases written with `<end>`: a hit counts only where the sentence ends. */
  private readonly endsSentence: boolean[] = [];
  private stateCount = 1;
  private runStates = new Map<string, RunState>();
  private start: RunState | null = null;
  /**
   * Phrases written as one word (glued.ts), by spelling. They are whole phrases of one token, so
   * they need no automaton: a lookup per token, skipped inside web and mail addresses.
   */
  private readonly glued = new Map<string, number[]>();
  /** Length of the shortest run-together spelling: shorter tokens skip the lookup. */
  private shortestGlued = Infinity;

  /** States in the automaton: a measure of its size. */
  get size(): number {
    return this.stateCount;
  }

  /** Add one phrase; returns its id. */
  add(items: readonly PatternItem[]): number {
    this.runStates = new Map();
    this.start = null;
    const id = this.phraseCount++;
    const atSentenceEnd = items.at(-1)?.kind === 'end';
    this.endsSentence[id] = atSentenceEnd;
    for (const end of this.build(atSentenceEnd ? items.slice(0, -1) : items, [this.root])) (end.accepts ??= []).push(id);
    return id;
  }

  /** Let one more spelling, a single word, match phrase `id`. */
  addSpelling(word: string, id: number): void {
    this.shortestGlued = Math.min(this.shortestGlued, word.length);
    const ids = this.glued.get(word);
    if (!ids) this.glued.set(word, [id]);
    else if (!ids.includes(id)) ids.push(id);
  }

  /** Link `items` after every state in `from`; returns the states where the sequence can end. */
  private build(items: readonly PatternItem[], from: State[]): State[] {
    let current = from;
    for (const item of items) {
      if (item.kind === 'token') {
        const target = this.newState();
        for (const state of current) state.link(item.spec, target);
        current = [target];
      } else if (item.kind === 'choice') {
        // An empty option ends where it started; other options each get their own states.
        current = [...new Set(item.options.flatMap((option) => this.build(option, current)))];
      } else if (item.kind === 'end') {
        throw new Error('<end> can only be the last step of a phrase (pattern.ts refuses it elsewhere)');
      } else {
        // A gap of up to `max` words: a chain of any-word steps, each of which may be the last.
        const ends = [...current];
        let step = current;
        for (let k = 0; k < item.max; k++) {
          const target = this.newState();
          for (const state of step) state.link({ kind: 'any' }, target);
          step = [target];
          ends.push(target);
        }
        current = ends;
      }
    }
    return current;
  }

  private newState(): State {
    return new State(this.stateCount++);
  }

  private intern(states: State[]): RunState {
    const key = states.map((s) => s.id).sort((a, b) => a - b).join(',');
    let run = this.runStates.get(key);
    if (!run) {
      if (this.runStates.size >= MAX_RUN_STATES) {
        // Drop the whole cached automaton (reachable from the start state) so it can be collected.
        this.runStates = new Map();
        this.start = null;
      }
      run = new RunState(states);
      this.runStates.set(key, run);
    }
    return run;
  }

  private startState(): RunState {
    this.start ??= this.intern([this.root]);
    return this.start;
  }

  /** The run state after reading `token`; cached per spelling (a token's variants follow from its text). */
  private advance(from: RunState, token: Token): RunState {
    const spelling = token.variants.length === 0 ? token.norm : `${token.norm}\u0001${token.variants.join('\u0001')}`;
    const cached = from.next.get(spelling);
    if (cached) return cached;
    const reached: State[] = [];
    for (const state of from.states) step(state, token, reached);
    const next = this.intern(reached);
    if (from.next.size >= (from === this.start ? MAX_CACHED_START_SPELLINGS : MAX_CACHED_SPELLINGS)) from.next.clear();
    from.next.set(spelling, next);
    return next;
  }

  /**
   * Every phrase occurrence in `tokens`. Phrases do not run across sentences or in and out of
   * quoted history. A match inside a longer one of the same phrase may also be reported.
   */
  match(tokens: readonly Token[]): PhraseHit[] {
    const hits: PhraseHit[] = [];
    const accept = (phrase: number, first: number, last: number): void => {
      if (this.endsSentence[phrase] && !endsSentenceAt(tokens, last)) return;
      hits.push({ phrase, first, last });
    };
    // One run per start token still in progress; a run dies when no phrase can continue.
    let runs: Array<{ state: RunState; first: number }> = [];
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const previous = tokens[i - 1];
      if (previous && phrasesBreakBetween(previous, token)) runs = [];
      const kept: typeof runs = [];
      const visit = (from: RunState, first: number) => {
        const state = this.advance(from, token);
        if (state.accepts) for (const phrase of state.accepts) accept(phrase, first, i);
        if (state.live) kept.push({ state, first });
      };
      for (const run of runs) visit(run.state, run.first);
      visit(this.startState(), i);
      if (!token.inLink && this.mayBeGlued(token)) this.matchGlued(token, i, accept);
      runs = kept;
    }
    return hits;
  }

  private mayBeGlued(token: Token): boolean {
    if (token.norm.length >= this.shortestGlued) return true;
    for (const variant of token.variants) if (variant.length >= this.shortestGlued) return true;
    return false;
  }

  private matchGlued(token: Token, index: number, accept: (phrase: number, first: number, last: number) => void): void {
    const direct = this.glued.get(token.norm);
    if (token.variants.length === 0) {
      if (direct) for (const phrase of direct) accept(phrase, index, index);
      return;
    }
    const found = new Set(direct);
    for (const variant of token.variants) for (const id of this.glued.get(variant) ?? []) found.add(id);
    for (const phrase of found) accept(phrase, index, index);
  }
}

/** No phrase runs from one token into the next: a sentence ends, or quoted history starts or stops. */
function phrasesBreakBetween(token: Token, next: Token): boolean {
  return next.sentence !== token.sentence || next.quoted !== token.quoted;
}

/** The sentence ends after token `index`: the text ends there, or phrases break there. */
function endsSentenceAt(tokens: readonly Token[], index: number): boolean {
  const next = tokens[index + 1];
  return next === undefined || phrasesBreakBetween(tokens[index]!, next);
}

function pushAll(out: State[], states: readonly State[] | undefined): void {
  if (states) for (const s of states) if (!out.includes(s)) out.push(s);
}

function walkPrefixes(root: PrefixNode, word: string, out: State[]): void {
  let node: PrefixNode | undefined = root;
  for (const ch of word) {
    node = node.next.get(ch);
    if (!node) return;
    pushAll(out, node.targets ?? undefined);
  }
}

/** Porter can rewrite the first letters of very short words (ies -> i), so the head check starts at 5 letters. */
const HEAD_CHECK_FROM = 5;

function stepStems(state: State, word: string, out: State[]): void {
  if (word.length > MAX_STEM_LENGTH) return;
  if (word.length >= HEAD_CHECK_FROM && !state.stemHeads!.has(word.slice(0, 2))) return;
  pushAll(out, state.stems!.get(stem(word)));
}

function step(state: State, token: Token, out: State[]): void {
  if (state.words) {
    pushAll(out, state.words.get(token.norm));
    for (const variant of token.variants) pushAll(out, state.words.get(variant));
  }
  if (state.stems) {
    stepStems(state, token.norm, out);
    for (const variant of token.variants) stepStems(state, variant, out);
  }
  if (state.prefixes) {
    walkPrefixes(state.prefixes, token.norm, out);
    for (const variant of token.variants) walkPrefixes(state.prefixes, variant, out);
  }
  pushAll(out, state.any ?? undefined);
}
