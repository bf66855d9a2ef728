/**
 * Address patterns from kestrel.yaml: a glob (`*`, `?`) matched case-insensitively against
 * the whole address, or `/regex/flags`. Kept as strings in the config (it crosses worker
 * boundaries) and compiled once here.
 */

const REGEX_LITERAL = /^\/(.+)\/([a-z]*)$/s;

export function compileAddressPattern(pattern: string): RegExp {
  const literal = REGEX_LITERAL.exec(pattern);
  if (literal) {
    // `g`/`y` make RegExp.test stateful between calls, which would make classification flaky.
    const flags = (literal[2] ?? '').replace(/[gy]/g, '');
    return new RegExp(literal[1] ?? '', flags);
  }
  const body = pattern
    .trim()
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

/** Why the pattern cannot be used, or undefined when it is fine; for config validation. */
export function addressPatternProblem(pattern: string): string | undefined {
  if (pattern.trim() === '') return 'expected a pattern like "*@staff.example.sch.uk" or "/regex/", got ""';
  try {
    compileAddressPattern(pattern);
    return undefined;
  } catch (error) {
    return `bad regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
}

export function compileAddressPatterns(patterns: readonly string[]): (address: string) => boolean {
  const compiled = patterns.map(compileAddressPattern);
  return (address) => compiled.some((re) => re.test(address));
}
