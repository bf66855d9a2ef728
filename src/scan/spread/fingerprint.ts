/**
 * Near-duplicate fingerprints of chain-letter text, so that copies forwarded by different people
 * (each with their own greeting, signature and disclaimer) are recognised as the same letter.
 * Only the paragraphs that hold chain-letter evidence are fingerprinted: a trust's disclaimer or
 * an all-staff newsletter is in many mailboxes too, but says nothing about forwarding.
 *
 * simhash (Charikar) over word 3-shingles, 64 bits: similar texts differ in few bits. Near-duplicates
 * within MAX_DISTANCE bits share at least one of the BANDS 16-bit bands (pigeonhole), which is how
 * a store finds candidates without comparing against everything.
 */
import type { AnalysedMessage, Evidence } from '../types.js';

export const BANDS = 4;
export const MAX_DISTANCE = 3;
const SHINGLE = 3;
/** Fewer words than this say too little to tell one letter from another. */
const MIN_WORDS = 12;
const MAX_FINGERPRINTS = 3;

/** 64-bit FNV-1a as two 32-bit halves with different offsets; cheap and well spread for short strings. */
function hash64(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 + 0x2000) >>> 0;
    b = (b ^ (b >>> 15)) >>> 0;
  }
  return [a, b];
}

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** 16 hex digits. */
export function simhash(tokens: readonly string[]): string {
  const weights = new Int32Array(64);
  const count = Math.max(1, tokens.length - SHINGLE + 1);
  for (let i = 0; i < count; i++) {
    const [hi, lo] = hash64(tokens.slice(i, i + SHINGLE).join(' '));
    for (let bit = 0; bit < 32; bit++) {
      weights[bit] = weights[bit]! + ((hi >>> bit) & 1 ? 1 : -1);
      weights[32 + bit] = weights[32 + bit]! + ((lo >>> bit) & 1 ? 1 : -1);
    }
  }
  let hi = 0;
  let lo = 0;
  for (let bit = 0; bit < 32; bit++) {
    if (weights[bit]! > 0) hi |= 1 << bit;
    if (weights[32 + bit]! > 0) lo |= 1 << bit;
  }
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

/** The BANDS 16-bit bands of a fingerprint, as hex. */
export function bands(fingerprint: string): string[] {
  return Array.from({ length: BANDS }, (_, i) => fingerprint.slice(i * 4, i * 4 + 4));
}

export function hammingDistance(a: string, b: string): number {
  let distance = 0;
  for (let i = 0; i < 16; i += 8) {
    let x = (parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16)) >>> 0;
    while (x) {
      x &= x - 1;
      distance++;
    }
  }
  return distance;
}

/** The paragraph (text between blank lines) around [start, end), quote markers removed. */
function paragraphAround(text: string, start: number, end: number): string {
  const before = text.lastIndexOf('\n\n', start);
  const after = text.indexOf('\n\n', end);
  return text
    .slice(before < 0 ? 0 : before, after < 0 ? text.length : after)
    .replace(/^[ \t]*(?:>[ \t]?)+/gm, '');
}

/** Fingerprints of the paragraphs that hold the given chain-letter evidence (text spans only). */
export function chainFingerprints(message: AnalysedMessage, evidence: readonly Evidence[]): string[] {
  const seen = new Set<string>();
  const prints: string[] = [];
  for (const e of evidence) {
    if (e.end <= e.start || e.field === 'html') continue;
    const field = message.fields.find((f) => f.field === e.field);
    if (!field) continue;
    const tokens = words(paragraphAround(field.text, e.start, e.end));
    if (tokens.length < MIN_WORDS) continue;
    const key = tokens.join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    prints.push(simhash(tokens));
    if (prints.length === MAX_FINGERPRINTS) break;
  }
  return prints;
}
