/**
 * A second, structure-only pass over the raw message that mirrors postal-mime's boundary
 * handling. postal-mime silently drops what we need to report or recover: part charsets
 * (absent from its Attachment objects), multiparts whose closing boundary never came
 * (truncated mail), and multiparts whose boundary never appears (content lost without
 * an error). The pass only looks at boundary lines and part headers, so it is cheap
 * even on a 20 MB attachment.
 */

export interface ScannedPart {
  /** Lower-cased type, as postal-mime reports `mimeType`. */
  contentType: string;
  charset?: string;
  /** Lower-cased Content-Disposition token, '' when absent. */
  disposition: string;
}

export interface ScannedMultipart {
  contentType: string;
  boundary?: string;
  isRoot: boolean;
}

export interface MimeScan {
  /** Non-multipart parts in document order: the order postal-mime collects them in. */
  leaves: ScannedPart[];
  /** Multiparts still open at end of input: their closing boundary is missing. */
  unterminated: ScannedMultipart[];
  /** Multiparts that ended with no parts; postal-mime yields nothing for their content. */
  empty: ScannedMultipart[];
  /** Byte offset where the top-level body starts (after the header block). */
  rootBodyStart: number;
  /** The first `--token` line of the top-level body, a guess at the boundary really used. */
  rootBoundaryCandidate?: string;
}

/** Enough header to find Content-Type in any real part; the rest is not needed here. */
const MAX_HEADER_LINES = 2000;
const MAX_HEADER_CHARS = 256 * 1024;
const DASH = 0x2d;

class ScanNode {
  readonly headerLines: string[] = [];
  headerChars = 0;
  state: 'header' | 'body' | 'finished' = 'header';
  contentType: string;
  params: Record<string, string> = Object.create(null) as Record<string, string>;
  disposition = '';
  multipart = false;
  boundary?: string;
  readonly children: ScanNode[] = [];
  /** Children before this index are finished; a cursor keeps many-part multiparts linear. */
  finishedChildren = 0;

  constructor(readonly parent: ScanNode | undefined) {
    this.contentType = parent?.contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    parent?.children.push(this);
  }
}

interface OpenBoundary {
  bytes: Buffer;
  node: ScanNode;
}

export function scanMime(raw: Buffer): MimeScan {
  const root = new ScanNode(undefined);
  const nodes: ScanNode[] = [root];
  const open: OpenBoundary[] = [];
  const empty: ScannedMultipart[] = [];
  let current = root;
  let rootBodyStart = raw.length;
  let rootBoundaryCandidate: string | undefined;

  const processHeaders = (node: ScanNode): void => {
    const headers = unfold(node.headerLines);
    const type = headers.get('content-type');
    if (type !== undefined) {
      const parsed = parseStructured(type);
      if (parsed.value) node.contentType = parsed.value;
      node.params = parsed.params;
    }
    const disposition = headers.get('content-disposition');
    if (disposition !== undefined) node.disposition = parseStructured(disposition).value;
    node.multipart = node.contentType.startsWith('multipart/');
    const boundary = node.params['boundary'];
    if (node.multipart && boundary) {
      node.boundary = boundary;
      open.push({ bytes: Buffer.from(boundary, 'latin1'), node });
    }
    node.state = 'body';
  };

  const finalize = (node: ScanNode): void => {
    if (node.state === 'finished') return;
    if (node.state === 'header') processHeaders(node);
    const index = open.findLastIndex((b) => b.node === node);
    if (index >= 0) open.splice(index, 1);
    finalizeChildren(node);
    node.state = 'finished';
    if (node.multipart && node.children.length === 0) {
      empty.push({ contentType: node.contentType, boundary: node.boundary, isRoot: node === root });
    }
  };

  const finalizeChildren = (node: ScanNode): void => {
    while (node.finishedChildren < node.children.length) {
      const child = node.children[node.finishedChildren++];
      if (child) finalize(child);
    }
  };

  let pos = 0;
  while (pos < raw.length) {
    const newline = raw.indexOf(0x0a, pos);
    const next = newline < 0 ? raw.length : newline + 1;
    // Like postal-mime, a line loses its trailing CR/LF run.
    let end = next;
    while (end > pos && (raw[end - 1] === 0x0a || raw[end - 1] === 0x0d)) end--;

    if (open.length > 0 && end - pos > 2 && raw[pos] === DASH && raw[pos + 1] === DASH) {
      const match = matchBoundary(raw, pos, end, open);
      if (match) {
        if (match.terminator) {
          finalize(match.node);
          current = match.node.parent ?? root;
        } else {
          finalizeChildren(match.node);
          current = new ScanNode(match.node);
          nodes.push(current);
        }
        pos = next;
        continue;
      }
    }

    if (current.state === 'header') {
      if (end === pos) {
        processHeaders(current);
        if (current === root) rootBodyStart = next;
      } else if (current.headerLines.length < MAX_HEADER_LINES && current.headerChars < MAX_HEADER_CHARS) {
        const line = raw.toString('latin1', pos, Math.min(end, pos + MAX_HEADER_CHARS));
        current.headerLines.push(line);
        current.headerChars += line.length;
      }
    } else if (
      current === root &&
      root.multipart &&
      root.children.length === 0 &&
      rootBoundaryCandidate === undefined &&
      end - pos > 2 &&
      raw[pos] === DASH &&
      raw[pos + 1] === DASH
    ) {
      rootBoundaryCandidate = boundaryCandidate(raw.toString('latin1', pos + 2, Math.min(end, pos + 202)));
    }
    pos = next;
  }

  const unterminated: ScannedMultipart[] = open.map((b) => ({
    contentType: b.node.contentType,
    boundary: b.node.boundary,
    isRoot: b.node === root,
  }));
  finalize(root);

  const leaves: ScannedPart[] = [];
  for (const node of nodes) {
    if (node.multipart) continue;
    const part: ScannedPart = { contentType: node.contentType, disposition: node.disposition };
    const charset = node.params['charset'];
    if (charset) part.charset = charset;
    leaves.push(part);
  }

  const scan: MimeScan = { leaves, unterminated, empty, rootBodyStart };
  if (rootBoundaryCandidate !== undefined) scan.rootBoundaryCandidate = rootBoundaryCandidate;
  return scan;
}

/** postal-mime's rule: `--` + boundary, optional `--`, then only spaces/tabs; innermost first. */
function matchBoundary(
  raw: Buffer,
  pos: number,
  end: number,
  open: readonly OpenBoundary[],
): { node: ScanNode; terminator: boolean } | undefined {
  for (let i = open.length - 1; i >= 0; i--) {
    const candidate = open[i];
    if (!candidate) continue;
    const b = candidate.bytes;
    if (end - pos < b.length + 2) continue;
    if (raw.compare(b, 0, b.length, pos + 2, pos + 2 + b.length) !== 0) continue;
    let rest = pos + 2 + b.length;
    let terminator = false;
    if (end - rest >= 2 && raw[rest] === DASH && raw[rest + 1] === DASH) {
      terminator = true;
      rest += 2;
    }
    let trailingOk = true;
    for (let j = rest; j < end; j++) {
      if (raw[j] !== 0x20 && raw[j] !== 0x09) {
        trailingOk = false;
        break;
      }
    }
    if (trailingOk) return { node: candidate.node, terminator };
  }
  return undefined;
}

/** A plausible RFC 2046 boundary taken from a `--token` line, or undefined. */
function boundaryCandidate(line: string): string | undefined {
  const token = line.replace(/[ \t]+$/, '').replace(/--$/, '');
  return /^[0-9A-Za-z'()+_,./:=?-]{1,70}$/.test(token) ? token : undefined;
}

/** First value of each header, folded lines joined; names lower-cased. */
function unfold(lines: readonly string[]): Map<string, string> {
  const headers = new Map<string, string>();
  let name: string | undefined;
  let value = '';
  const flush = (): void => {
    if (name !== undefined && !headers.has(name)) headers.set(name, value);
  };
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && name !== undefined) {
      value += line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    name = colon < 0 ? undefined : line.slice(0, colon).trim().toLowerCase();
    value = colon < 0 ? '' : line.slice(colon + 1);
  }
  flush();
  return headers;
}

export interface StructuredHeader {
  value: string;
  params: Record<string, string>;
}

/** `type/sub; a=b; c="d"` -> lower-cased value and parameters (quoted strings unescaped). */
export function parseStructured(header: string): StructuredHeader {
  const params = Object.create(null) as Record<string, string>;
  const pieces: string[] = [];
  let piece = '';
  let quoted = false;
  let escaped = false;
  for (const ch of header) {
    if (escaped) {
      piece += ch;
      escaped = false;
    } else if (quoted && ch === '\\') {
      escaped = true;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (ch === ';' && !quoted) {
      pieces.push(piece);
      piece = '';
    } else {
      piece += ch;
    }
  }
  pieces.push(piece);

  const value = stripComment(pieces[0] ?? '').trim().toLowerCase();
  for (const p of pieces.slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    if (key && !(key in params)) params[key] = p.slice(eq + 1).trim();
  }
  return { value, params };
}

function stripComment(value: string): string {
  return value.replace(/\([^()]*\)/g, '');
}
