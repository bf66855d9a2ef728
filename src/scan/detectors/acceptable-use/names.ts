/**
 * Display names compared with trust leaders' names, the way a reader glancing at a From line
 * would: case, accents and look-alike letters ignored (the scan normaliser folds them), titles and
 * extra words ("CEO", "Dr", "Office of") ignored, either order ("Carter, Helen"). A leader's name
 * matches when their first name and surname both appear as words; middle names may be left out.
 * Initials ("H. Carter") do not match: too many other people share them.
 */
import { normalise } from '../../normalise.js';

export interface Leader {
  name: string;
  /** First and last words of the name, titles removed; one word for a one-word name. */
  required: readonly string[];
  /** Their addresses outside the trust domains, lower-cased. */
  addresses: ReadonlySet<string>;
}

const TITLES = new Set([
  'mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'doctor', 'prof', 'professor', 'sir', 'dame', 'lady', 'lord', 'rev', 'revd', 'reverend', 'canon', 'cllr',
]);

/** Lower-cased words of a name: accents folded, apostrophes dropped (O'Brien -> obrien), hyphens split. */
export function nameWords(name: string): string[] {
  const folded = normalise(name).text.toLowerCase().replace(/['’`]/g, '');
  return (folded.match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => !TITLES.has(w));
}

export function compileLeader(leader: { name: string; addresses: readonly string[] }): Leader | undefined {
  const words = nameWords(leader.name);
  if (words.length === 0) return undefined;
  const required = words.length === 1 ? words : [words[0]!, words[words.length - 1]!];
  return { name: leader.name, required, addresses: new Set(leader.addresses.map((a) => a.toLowerCase())) };
}

/** The leader whose name the display name shows, if any. */
export function leaderNamed(displayName: string, leaders: readonly Leader[]): Leader | undefined {
  if (leaders.length === 0 || displayName.trim() === '') return undefined;
  const words = new Set(nameWords(displayName));
  return leaders.find((leader) => leader.required.every((w) => words.has(w)));
}
