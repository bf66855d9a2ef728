/**
 * Authentication-Results headers (RFC 8601): who checked the message (the authserv-id) and what
 * they found: `dkim=pass header.d=example.org`, `spf=pass smtp.mailfrom=bounce@example.org`,
 * `dmarc=fail header.from=example.org`. Comments, quoted values and the `authserv-id version`
 * form are handled; anything unreadable is skipped rather than guessed at.
 *
 * Any hop can add such a header, and a sender can write one before sending, so only those from
 * our own servers count: the ones whose authserv-id is configured (`acceptableUse.authservIds`),
 * or, with none configured, the topmost, which the border MX that received the message added.
 */
export interface AuthResult {
  /** `dkim`, `spf`, `dmarc`, ... lower-cased. */
  method: string;
  /** `pass`, `fail`, `none`, ... lower-cased. */
  result: string;
  /** `header.d`, `smtp.mailfrom`, `header.from`, `reason`, ... -> value, keys lower-cased. */
  properties: ReadonlyMap<string, string>;
}

export interface AuthResultsHeader {
  authservId: string;
  results: AuthResult[];
}

/** The text with (possibly nested) comments removed, quoted strings kept whole. */
function stripComments(value: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && (quoted || depth > 0)) {
      if (depth === 0) out += c + (value[i + 1] ?? '');
      i++;
      continue;
    }
    if (depth === 0 && c === '"') quoted = !quoted;
    if (!quoted && c === '(') {
      depth++;
      continue;
    }
    if (!quoted && c === ')' && depth > 0) {
      depth--;
      out += ' ';
      continue;
    }
    if (depth === 0) out += c;
  }
  return out;
}

/** Splits on `sep` outside quoted strings. */
function splitOutsideQuotes(value: string, sep: RegExp): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && quoted) {
      current += c + (value[i + 1] ?? '');
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (!quoted && sep.test(c)) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

function parseResult(segment: string): AuthResult | undefined {
  // `key = value` is allowed (CFWS around "="): close up the spaces before splitting into words.
  const words = splitOutsideQuotes(segment.replace(/\s*=\s*/g, '='), /\s/);
  const first = /^([a-z0-9_-]+)(?:\/[0-9]+)?=([a-z0-9_-]+)$/i.exec(words[0] ?? '');
  if (!first) return undefined;
  const properties = new Map<string, string>();
  for (const word of words.slice(1)) {
    const eq = word.indexOf('=');
    if (eq <= 0) continue;
    const key = word.slice(0, eq).toLowerCase();
    if (!properties.has(key)) properties.set(key, unquote(word.slice(eq + 1)));
  }
  return { method: first[1]!.toLowerCase(), result: first[2]!.toLowerCase(), properties };
}

export function parseAuthResults(value: string): AuthResultsHeader | undefined {
  const segments = splitOutsideQuotes(stripComments(value), /;/);
  const head = segments[0]?.split(/\s+/)[0];
  if (!head) return undefined;
  const authservId = unquote(head).toLowerCase();
  if (authservId.includes('=')) return undefined;
  const results: AuthResult[] = [];
  for (const segment of segments.slice(1)) {
    const result = parseResult(segment);
    if (result) results.push(result);
  }
  return { authservId, results };
}

/**
 * The headers to believe: those from the configured authserv-ids, or only the topmost when none
 * are configured. Header values are in order of appearance, topmost first.
 */
export function trustedAuthResults(values: readonly string[], authservIds: readonly string[]): AuthResultsHeader[] {
  if (authservIds.length === 0) {
    const top = values[0] === undefined ? undefined : parseAuthResults(values[0]);
    return top ? [top] : [];
  }
  const allowed = new Set(authservIds);
  const trusted: AuthResultsHeader[] = [];
  for (const value of values) {
    const parsed = parseAuthResults(value);
    if (parsed && allowed.has(parsed.authservId)) trusted.push(parsed);
  }
  return trusted;
}

/** The domain of a `header.d`, `header.i` (`@domain` or `user@domain`) or `smtp.mailfrom` value. */
export function identityDomain(value: string): string {
  const at = value.lastIndexOf('@');
  return (at < 0 ? value : value.slice(at + 1)).trim().toLowerCase().replace(/\.$/, '');
}
