/**
 * One matcher for every phrase of every rule: a trie over token specs, walked once per field.
 * Cost grows with the text and the number of hits, not with the number of rules.
 */
import type { Token } from '../scan/types.js';
import type { TokenSpec } from './pattern.js';
import { stem } from './stem.js';

const MAX_STEM_LENGTH = 40;

/** A character trie of prefix specs; `target` is the phrase trie node a token with this prefix leads to. */
interface PrefixNode {
  next: Map<string, PrefixNode>;
  target: TrieNode | null;
}

class TrieNode {
  words: Map<string, TrieNode> | null = null;
  stems: Map<string, TrieNode> | null = null;
  /**
   * First two letters of every stem key here. Porter only rewrites endings, so a word can share a
   * stem only if it starts the same way: most tokens are ruled out without stemming them.
   */
  stemHeads: Set<string> | null = null;
  prefixes: PrefixNode | null = null;
  any: TrieNode | null = null;
  /** Phrase ids that end here. */
  accepts: number[] | null = null;
  hasChildren = false;
}

/** A phrase found in one field: tokens [first, last] inclusive. */
export interface PhraseHit {
  phrase: number;
  first: number;
  last: number;
}

function child(map: Map<string, TrieNode>, key: string): TrieNode {
  let node = map.get(key);
  if (!node) map.set(key, (node = new TrieNode()));
  return node;
}

function prefixTarget(root: PrefixNode, prefix: string): TrieNode {
  let node = root;
  for (const ch of prefix) {
    let next = node.next.get(ch);
    if (!next) node.next.set(ch, (next = { next: new Map(), target: null }));
    node = next;
  }
  return (node.target ??= new TrieNode());
}

export class PhraseMatcher {
  private readonly root = new TrieNode();
  private phraseCount = 0;

  /** Add one expanded phrase; returns its id. */
  add(sequence: readonly TokenSpec[]): number {
    let nodes = [this.root];
    for (const spec of sequence) {
      const next: TrieNode[] = [];
      for (const node of nodes) {
        node.hasChildren = true;
        switch (spec.kind) {
          case 'word':
            // Alternative spellings of one word lead to the same child, so the phrase continues from one place.
            // Each spelling gets its own child: a shared child would let `he'll` reach a phrase written `hell`.
            for (const w of spec.words) next.push(child((node.words ??= new Map()), w));
            break;
          case 'stem':
            next.push(child((node.stems ??= new Map()), spec.stem));
            (node.stemHeads ??= new Set()).add(spec.stem.slice(0, 2));
            break;
          case 'prefix':
            next.push(prefixTarget((node.prefixes ??= { next: new Map(), target: null }), spec.prefix));
            break;
          case 'any':
            next.push((node.any ??= new TrieNode()));
            break;
        }
      }
      nodes = [...new Set(next)];
    }
    const id = this.phraseCount++;
    for (const node of nodes) (node.accepts ??= []).push(id);
    return id;
  }

  /** Every phrase occurrence in `tokens`. Phrases do not run across sentences or in and out of quoted history. */
  match(tokens: readonly Token[]): PhraseHit[] {
    const hits: PhraseHit[] = [];
    let active: Array<{ node: TrieNode; first: number }> = [];
    const reached: TrieNode[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!;
      const previous = tokens[i - 1];
      if (previous && (previous.sentence !== token.sentence || previous.quoted !== token.quoted)) active = [];
      const next: Array<{ node: TrieNode; first: number }> = [];
      for (const state of active) {
        reached.length = 0;
        step(state.node, token, reached);
        for (const node of reached) next.push({ node, first: state.first });
      }
      reached.length = 0;
      step(this.root, token, reached);
      for (const node of reached) next.push({ node, first: i });
      active = [];
      for (const state of next) {
        if (state.node.accepts) for (const phrase of state.node.accepts) hits.push({ phrase, first: state.first, last: i });
        if (state.node.hasChildren) active.push(state);
      }
    }
    return hits;
  }
}

function pushUnique(out: TrieNode[], node: TrieNode | undefined): void {
  if (node && !out.includes(node)) out.push(node);
}

function walkPrefixes(root: PrefixNode, word: string, out: TrieNode[]): void {
  let node: PrefixNode | undefined = root;
  for (const ch of word) {
    node = node.next.get(ch);
    if (!node) return;
    if (node.target) pushUnique(out, node.target);
  }
}

function step(node: TrieNode, token: Token, out: TrieNode[]): void {
  if (node.words) {
    pushUnique(out, node.words.get(token.norm));
    for (const variant of token.variants) pushUnique(out, node.words.get(variant));
  }
  if (node.stems) {
    const { stems, stemHeads } = node;
    // Porter is quadratic on long consonant runs; no word worth stemming is this long (elongations are squeezed in variants).
    if (token.norm.length <= MAX_STEM_LENGTH && stemHeads!.has(token.norm.slice(0, 2))) pushUnique(out, stems.get(stem(token.norm)));
    for (const variant of token.variants) {
      if (variant.length <= MAX_STEM_LENGTH && stemHeads!.has(variant.slice(0, 2))) pushUnique(out, stems.get(stem(variant)));
    }
  }
  if (node.prefixes) {
    walkPrefixes(node.prefixes, token.norm, out);
    for (const variant of token.variants) walkPrefixes(node.prefixes, variant, out);
  }
  if (node.any) pushUnique(out, node.any);
}
