/**
 * YAML that remembers where things came from, so that a bad value in kestrel.yaml or a
 * lexicon file is reported as `file:line: path: what is wrong` rather than a bare zod dump.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import type * as z from 'zod';

export class SourceError extends Error {
  readonly problems: string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'SourceError';
    this.problems = [...problems];
  }
}

export interface YamlSource {
  file: string;
  value: unknown;
  /** 1-based line of the node at `path`, or of its nearest existing ancestor. */
  lineOf(path: readonly PropertyKey[]): number;
}

export function parseYaml(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  // prettyErrors off: we print our own `file:line:` prefix and do not want the code frame.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;

  if (doc.errors.length > 0) {
    throw new SourceError(doc.errors.map((e) => `${file}:${lineAt(e.pos[0])}: ${e.message}`));
  }

  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // Alias bombs (too many alias expansions) surface here rather than in doc.errors.
    throw new SourceError([`${file}:1: ${error instanceof Error ? error.message : String(error)}`]);
  }

  return {
    file,
    value,
    lineOf: (path) => lineAt(offsetOf(doc, path)),
  };
}

/** Start offset of the node at `path`; for a map entry, of its key, which is where a reader looks. */
function offsetOf(doc: Document, path: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;

  for (const key of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    let nextOffset: number | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && scalarKey(p.key) === String(key));
      if (!pair) break;
      next = pair.value;
      nextOffset = rangeStart(pair.key) ?? rangeStart(pair.value);
    } else if (isSeq(node) && typeof key === 'number') {
      next = node.items[key];
      nextOffset = rangeStart(next);
    } else {
      break;
    }
    if (nextOffset === undefined) break;
    node = next;
    offset = nextOffset;
  }
  return offset;
}

function scalarKey(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' || typeof key === 'number' ? String(key) : undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as YamlNode | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/**
 * Validates the value at `basePath` (default: the whole document) and returns the parsed
 * result; every problem is reported at once so a user fixes a file in one pass.
 */
export function validate<T>(source: YamlSource, schema: z.ZodType<T>, basePath: readonly PropertyKey[] = []): T {
  const suggestions = new Map<string, string>();
  const result = schema.safeParse(valueAt(source.value, basePath), {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') rememberSuggestions(issue, suggestions);
      return readableMessage(issue);
    },
  });
  if (result.success) return result.data;

  const problems: Array<{ line: number; text: string }> = [];
  const add = (path: readonly PropertyKey[], message: string): void => {
    problems.push({ line: source.lineOf(path), text: formatProblem(source, path, message) });
  };
  for (const issue of result.error.issues) {
    const issuePath = [...basePath, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const suggestion = suggestions.get(suggestionKey(issue.path, key));
        add([...issuePath, key], `unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`);
      }
    } else {
      add(issuePath, issue.message);
    }
  }
  // zod reports in schema order; file order is how a person works through the fixes.
  problems.sort((a, b) => a.line - b.line);
  throw new SourceError(problems.map((p) => p.text));
}

export function formatProblem(source: YamlSource, path: readonly PropertyKey[], message: string): string {
  const where = formatPath(path);
  return `${source.file}:${source.lineOf(path)}: ${where ? `${where}: ` : ''}${message}`;
}

/** `trust.domains[2]`; keys that are not plain words are quoted so the path stays unambiguous. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][\w-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

type RawIssue = z.core.$ZodRawIssue;

/** zod's defaults read like "Invalid input: expected string, received number"; trim and sharpen them. */
function readableMessage(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = issue.expected === 'int' ? 'a whole number' : String(issue.expected);
      if (issue.input === undefined) return `required (expected ${expected})`;
      if (issue.expected === 'int' && typeof issue.input === 'number') return `expected ${expected}, got ${issue.input}`;
      return `expected ${expected}, received ${describeType(issue.input)}`;
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      return `expected ${oneOf(values)}, got ${JSON.stringify(issue.input)}`;
    }
    case 'too_small':
    case 'too_big': {
      const limit = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const bound = issue.code === 'too_small' ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
      if (issue.origin === 'number') return `expected ${bound} ${String(limit)}, got ${String(issue.input)}`;
      if (issue.origin === 'array') return `expected ${bound} ${String(limit)} item${Number(limit) === 1 ? '' : 's'}`;
      if (issue.origin === 'string' && issue.code === 'too_small' && Number(limit) === 1) return 'must not be empty';
      return undefined;
    }
    default:
      return undefined;
  }
}

export function oneOf(values: readonly string[]): string {
  if (values.length <= 1) return values.join('');
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

function describeType(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  if (typeof input === 'number' && Number.isNaN(input)) return 'NaN';
  if (typeof input === 'number' && !Number.isInteger(input)) return 'number with a fraction';
  return typeof input === 'object' ? 'object' : typeof input;
}

function suggestionKey(path: readonly PropertyKey[], key: string): string {
  return JSON.stringify([...path.map(String), key]);
}

/** The error map sees the object schema that rejected the keys; the final issue does not. */
function rememberSuggestions(issue: RawIssue & { code: 'unrecognized_keys' }, into: Map<string, string>): void {
  const def = (issue.inst as { _zod?: { def?: { shape?: unknown } } } | undefined)?._zod?.def;
  const shape = def?.shape;
  if (!shape || typeof shape !== 'object') return;
  const known = Object.keys(shape);
  for (const key of issue.keys) {
    const best = closest(key, known);
    if (best) into.set(suggestionKey(issue.path ?? [], key), best);
  }
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Only suggest near misses; a wholly unknown key gets no guess.
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
