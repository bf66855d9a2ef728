/**
 * One key for "the same message" wherever it is stored: the sender's Sent copy, each recipient's
 * INBOX copy, a journal report's copy. The store scans a key once and keeps only the key for clean
 * mail, so the key decides both what is scanned and what is remembered.
 *
 * Why not the Message-ID alone: anyone can write any Message-ID. A sender who copies the ID of a
 * message already scanned clean (a newsletter, a letter home they received) would have their own
 * message skipped as "already seen" and never scanned at all. So the key covers the headers a
 * sender writes and that every copy keeps (Message-ID, Date, From, To, Cc, Subject): to slip a
 * message past the scan a forger must match all of them, i.e. send it as the original sender to
 * the original recipients at the original time, where it sits beside the real one.
 * The body is keyed too (line endings and trailing blanks normalised): otherwise the original
 * sender could send a harmless message and then a harmful one with the same headers, and the
 * second would be taken for the first and never scanned. The price: a copy whose body a server
 * rewrote in transit (a gateway disclaimer, a transfer re-encoding) gets a key of its own and is
 * scanned again; the store may then hold two flags for it. Within a trust's own mail that is rare.
 *
 * What servers add or rewrite is normalised away: trace headers (Received, Delivered-To,
 * Return-Path, X-*) are not keyed; folding, runs of blanks, header-name case, RFC 2047 encoding,
 * display names (Exchange regenerates address headers from its own store) and the time zone a
 * Date is written in do not change the key.
 */
import { createHash } from 'node:crypto';
import { splitEntity } from '../scan/parse/mime-header.js';
import { NativeTextDecoder } from '../scan/parse/windows-1252.js';

const KEYED_HEADERS = ['message-id', 'date', 'from', 'to', 'cc', 'subject'] as const;
const ADDRESS_HEADERS = new Set(['from', 'to', 'cc']);

/** Changed whenever the recipe changes, so keys made by different recipes never meet. */
const RECIPE = 'kestrel-message-key-3';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Raw 8-bit headers are UTF-8 from modern clients; anything else is read byte for byte, which never fails. */
function decodeBytes(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

const ENCODED_WORD = /=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=/g;

function qBytes(text: string): Buffer {
  return Buffer.from(
    text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    'latin1',
  );
}

/** RFC 2047 encoded words decoded, so re-encoding in transit (B for Q, another charset) changes nothing. */
function decodeEncodedWords(value: string): string {
  return value
    .replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)\s+(?==\?)/g, '$1')
    .replace(ENCODED_WORD, (word, charset: string, encoding: string, text: string) => {
      try {
        const bytes = encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : qBytes(text);
        // RFC 2231 allows a language after the charset: `utf-8*en`.
        // The native decoder, not the windows-1252 fix parse.ts installs: keys must not depend on
        // whether that fix was loaded when the key was made (see windows-1252.ts).
        return new NativeTextDecoder(charset.replace(/\*.*$/, '')).decode(bytes);
      } catch {
        return word;
      }
    });
}

/** The text outside quoted strings and (nested) comments: where the addresses are. Linear, whatever the input. */
function outsideNamesAndComments(value: string): string {
  let out = '';
  let quoted = false;
  let depth = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && (quoted || depth > 0)) {
      i++;
    } else if (quoted) {
      if (c === '"') quoted = false;
    } else if (c === '(') {
      depth++;
    } else if (depth > 0) {
      if (c === ')') depth--;
    } else if (c === '"') {
      quoted = true;
    } else {
      out += c;
      continue;
    }
    out += ' ';
  }
  return out;
}

/** The addresses of an address header, lower-cased and sorted: display names and their quoting vary between copies. */
function addresses(value: string): string {
  const found = outsideNamesAndComments(value)
    .split(/[\s<>,;:]+/)
    .filter((token) => token.length > 2 && token.indexOf('@') > 0 && !token.endsWith('@'));
  if (found.length === 0) return value;
  return [...new Set(found.map((a) => a.toLowerCase()))].sort().join(', ');
}

/** The instant a Date names, whatever zone it is written in; the text itself when unreadable. */
function instant(value: string): string {
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString();
}

function normalised(name: string, raw: string): string {
  const value = decodeEncodedWords(raw).replace(/\s+/g, ' ').trim();
  if (ADDRESS_HEADERS.has(name)) return addresses(value);
  if (name === 'date') return instant(value);
  return value;
}

/** The keyed header fields by lower-cased name, unfolded and normalised, in order of appearance. */
function keyedFields(head: Buffer): Map<string, string[]> {
  const lines = decodeBytes(head).split(/\r?\n|\r/);
  const fields = new Map<string, string[]>();
  let current: { name: string; value: string } | null = null;
  const finish = () => {
    if (!current) return;
    if ((KEYED_HEADERS as readonly string[]).includes(current.name)) {
      fields.set(current.name, [...(fields.get(current.name) ?? []), normalised(current.name, current.value)]);
    }
    current = null;
  };
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && current) {
      current.value += ` ${line}`;
      continue;
    }
    finish();
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    // Obsolete syntax allows blanks before the colon; a name with a blank inside is not a header
    // (an mbox `From ` separator line, say).
    const name = /^([\x21-\x39\x3b-\x7e]+)[ \t]*$/.exec(line.slice(0, colon))?.[1];
    if (!name) continue;
    current = { name: name.toLowerCase(), value: line.slice(colon + 1) };
  }
  finish();
  return fields;
}

/** Line endings vary between a server's stored copies; the text does not. */
function normalisedBody(body: Buffer): Buffer {
  return Buffer.from(body.toString('latin1').replace(/\r\n?/g, '\n').trimEnd(), 'latin1');
}

/** sha256 hex of what every copy of a message shares (see the comment at the top). */
export function messageKey(raw: Buffer): string {
  const { header: head, bodyStart } = splitEntity(raw);
  const body = raw.subarray(bodyStart);
  const fields = keyedFields(head);
  const hash = createHash('sha256').update(RECIPE);
  // JSON keeps "field absent" apart from "field empty" and one field's text apart from the next's.
  hash.update(JSON.stringify(KEYED_HEADERS.map((name) => [name, fields.get(name) ?? null])));
  hash.update('\0body\0').update(normalisedBody(body));
  return hash.digest('hex');
}
