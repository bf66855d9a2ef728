/**
 * Charset labels as mail writes them, resolved the way postal-mime resolves body charsets
 * (its decode-strings.ts), so that "postal-mime could not decode this body" can be detected
 * and attachments decode the same way the body does.
 */

const CHARSET_ALIASES = new Map<string, string>([
  ['iso88598i', 'iso-8859-8'],
  ['iso88598e', 'iso-8859-8'],
  ['shiftjis', 'shift_jis'],
  ['windows31j', 'shift_jis'],
  ['mskanji', 'shift_jis'],
  ['eucjp', 'euc-jp'],
  ['iso2022jp', 'iso-2022-jp'],
  ['iso2022jp1', 'iso-2022-jp'],
  ['iso2022jp2', 'iso-2022-jp'],
  ['junet', 'iso-2022-jp'],
  ['euckr', 'euc-kr'],
  ['uhc', 'euc-kr'],
  ['tis620', 'windows-874'],
]);

const CODE_PAGE_ALIASES = new Map<string, string>([
  ['932', 'shift_jis'],
  ['936', 'gbk'],
  ['949', 'euc-kr'],
  ['950', 'big5'],
  ['874', 'windows-874'],
  ['51932', 'euc-jp'],
  ['50220', 'iso-2022-jp'],
  ['50221', 'iso-2022-jp'],
  ['50222', 'iso-2022-jp'],
]);

const CODE_PAGE = /^(?:cp|windows|ms|ibm)(\d+)$/;

/** Labels come from the message, so the cache is bounded. */
const cache = new Map<string, string | null>();
const CACHE_LIMIT = 256;

function supported(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

/** A label TextDecoder accepts for `charset`, or null when neither it nor an alias is known. */
export function resolveCharset(charset: string): string | null {
  const label = charset.trim().toLowerCase();
  const cached = cache.get(label);
  if (cached !== undefined) return cached;

  let resolved: string | null = null;
  if (label.length > 0 && label.length < 64) {
    if (supported(label)) resolved = label;
    else {
      const normalized = label.replace(/^(?:x-ms-|x-|cs)/, '').replace(/[\s._-]+/g, '');
      const codePage = CODE_PAGE.exec(normalized);
      const alias =
        (codePage?.[1] !== undefined ? CODE_PAGE_ALIASES.get(codePage[1]) : undefined) ??
        CHARSET_ALIASES.get(normalized) ??
        normalized;
      if (supported(alias)) resolved = alias;
    }
  }

  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(label, resolved);
  return resolved;
}

export interface DecodedText {
  text: string;
  /** Set when the bytes could not be decoded as declared. */
  problem?: string;
}

function bomEncoding(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return null;
}

/**
 * Decodes attachment bytes. A declared charset wins (unknown labels fall back to UTF-8 and
 * say so). With none declared, UTF-8 is tried strictly first: Windows tools still write
 * CSV in windows-1252, and a lenient UTF-8 decode would turn every accented letter into U+FFFD.
 */
export function decodeText(bytes: Uint8Array, charset: string | undefined): DecodedText {
  const bom = bomEncoding(bytes);
  if (bom) return { text: new TextDecoder(bom).decode(bytes) };

  if (charset !== undefined && charset.trim() !== '') {
    const encoding = resolveCharset(charset);
    if (encoding) return { text: new TextDecoder(encoding).decode(bytes) };
    return {
      text: new TextDecoder('utf-8').decode(bytes),
      problem: `unknown charset "${printable(charset)}"; decoded as UTF-8`,
    };
  }

  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return {
      text: new TextDecoder('windows-1252').decode(bytes),
      problem: 'no charset declared and not valid UTF-8; decoded as windows-1252',
    };
  }
}

/** Header values are attacker-controlled; keep them short and on one line in problem text. */
export function printable(value: string, max = 60): string {
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
