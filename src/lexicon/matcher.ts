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

export class PhraseMatcher {
  private readonly root = new State();
  private phraseCount = 0;
  private stateCount = 1;

  /** States in the automaton: a measure of its size. */
  get size(): number {
    return this.stateCount;
  }

  /** Add one phrase; returns its id. */
  add(items: readonly PatternItem[]): number {
    const id = this.phraseCount++;
    for (const end of this.build(items, [this.root])) (end.accepts ??= []).push(id);
    return id;
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
    this.stateCount++;
    return new State();
  }

  /** Every phrase occurrence in `tokens`. Phrases do not run across sentences or in and out of quoted history. */
  match(tokens: readonly Token[]): PhraseHit[] {
    const hits: PhraseHit[] = [];
    // State -> earliest first token: a later start reaching the same state is a shorter match inside it.
    // Two maps, swapped per token: this loop runs for every token of every message.
    let active = new Map<State, number>();
    let next = new Map<State, number>();
    const reached: State[] = [];
    const advance = (from: State, token: Token, first: number) => {
      reached.length = 0;
      step(from, token, reached);
      for (const state of reached) {
        const known = next.get(state);
        if (known === undefined || first < known) next.set(state, first);
      }
    };
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const previous = tokens[i - 1];
      if (previous && (previous.sentence !== token.sentence || previous.quoted !== token.quoted)) active.clear();
      next.clear();
      for (const [state, first] of active) advance(state, token, first);
      advance(this.root, token, i);
      active.clear();
      for (const [state, first] of next) {
        if (state.accepts) for (const phrase of state.accepts) hits.push({ phrase, first, last: i });
        if (state.hasTransitions) active.set(state, first);
      }
    }
    return hits;
  }
}

function pushAll(out: State[], states: State[] | undefined): void {
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

function stepStems(state: State, word: string, out: State[]): void {
  if (word.length <= MAX_STEM_LENGTH && state.stemHeads!.has(word.slice(0, 2))) pushAll(out, state.stems!.get(stem(word)));
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
