import { decodeText } from './charset.js';
import { createDocumentExtractor } from './documents/index.js';
import { htmlToText } from './html-to-text.js';
import type { TextRange } from './quotes.js';

export interface AttachmentInput {
  bytes: Uint8Array;
  /** Lower-cased MIME type. */
  contentType: string;
  /** The charset parameter of the part's Content-Type, when it had one. */
  charset?: string;
  filename?: string;
}

export interface ExtractedText {
  text: string;
  quoted: TextRange[];
  /** Replaces the file name as the field label (an attached message's subject). */
  label?: string;
  problems: string[];
}

export interface SkippedExtraction {
  skipped: string;
  problems: string[];
}

export type ExtractResult = ExtractedText | SkippedExtraction;

/** What an extractor may use besides the bytes. */
export interface ExtractorEnv {
  maxTextChars: number;
  /** Parses an attached message one level deeper (the caller enforces the depth limit). */
  parseMessage(bytes: Uint8Array): Promise<ExtractResult>;
}

export interface Extractor {
  name: string;
  contentTypes: readonly string[];
  /** Used when the content type is not recognised; mailers often send CSV as octet-stream. */
  extensions: readonly string[];
  extract(input: AttachmentInput, env: ExtractorEnv): ExtractResult | Promise<ExtractResult>;
}

function textResult(text: string, problem: string | undefined): ExtractedText {
  return { text, quoted: [], problems: problem ? [problem] : [] };
}

const plainText: Extractor = {
  name: 'text',
  contentTypes: [
    'text/plain', 'text/csv', 'text/tab-separated-values', 'text/markdown', 'text/x-markdown',
    'application/json', 'application/xml', 'text/xml',
  ],
  extensions: ['txt', 'text', 'csv', 'tsv', 'md', 'markdown', 'json', 'xml', 'log'],
  extract(input) {
    const decoded = decodeText(input.bytes, input.charset);
    return textResult(decoded.text, decoded.problem);
  },
};

const calendar: Extractor = {
  name: 'calendar',
  contentTypes: ['text/calendar', 'application/ics'],
  extensions: ['ics', 'ical', 'ifb'],
  // postal-mime has already decoded calendar parts with their charset and re-encoded them
  // as UTF-8, so the declared charset no longer describes these bytes.
  extract(input) {
    const decoded = decodeText(input.bytes, 'utf-8');
    return textResult(decoded.text, decoded.problem);
  },
};

const html: Extractor = {
  name: 'html',
  contentTypes: ['text/html', 'application/xhtml+xml'],
  extensions: ['html', 'htm', 'xhtml'],
  extract(input, env) {
    const decoded = decodeText(input.bytes, input.charset);
    const converted = htmlToText(decoded.text, env.maxTextChars);
    const problems = decoded.problem ? [decoded.problem] : [];
    if (converted.truncated) problems.push('HTML text cut for scanning');
    return { text: converted.text, quoted: [], problems };
  },
};

const message: Extractor = {
  name: 'message',
  contentTypes: ['message/rfc822', 'message/global'],
  extensions: ['eml'],
  extract(input, env) {
    return env.parseMessage(input.bytes);
  },
};

/** Add new extractors here; the first match wins. */
export const EXTRACTORS: readonly Extractor[] = [plainText, calendar, html, message, createDocumentExtractor()];

const byType = new Map<string, Extractor>();
const byExtension = new Map<string, Extractor>();
for (const extractor of EXTRACTORS) {
  for (const type of extractor.contentTypes) if (!byType.has(type)) byType.set(type, extractor);
  for (const ext of extractor.extensions) if (!byExtension.has(ext)) byExtension.set(ext, extractor);
}

/** Types whose bytes are never text, whatever the file is called. */
const BINARY_TYPE = /^(?:image|audio|video|font|model)\//;

/**
 * The extractor for a part: by content type, else by file extension (CSV arrives as
 * application/octet-stream or application/vnd.ms-excel from Windows clients).
 */
export function findExtractor(contentType: string, filename?: string): Extractor | undefined {
  const type = contentType.toLowerCase();
  const typed = byType.get(type);
  if (typed) return typed;
  if (BINARY_TYPE.test(type)) return undefined;
  const dot = filename?.lastIndexOf('.') ?? -1;
  if (filename === undefined || dot < 0) return undefined;
  return byExtension.get(filename.slice(dot + 1).toLowerCase());
}
