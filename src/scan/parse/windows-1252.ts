/**
 * Node 20.18.3 and later (and 22.13.0 and later) decode `windows-1252` with the Latin-1 fast path,
 * so bytes 0x80-0x9F come out as C1 control characters instead of the curly quotes, dashes and euro
 * sign the Encoding Standard maps them to (nodejs/node#60888). The same decoder serves every label
 * the standard folds into windows-1252: `iso-8859-1`, `latin1`, `us-ascii`, `cp1252`. Outlook and
 * older mail clients write exactly these bytes: "don\x92t tell" would reach the scanner as the words
 * "don" and "t", and evidence would show control characters to the reviewer.
 *
 * postal-mime builds its own decoders from the global `TextDecoder`, so Kestrel installs a subclass
 * that maps the 27 defined code points after decoding (the other 5 stay C1 controls, as in the
 * standard). It is installed only where the bug is present; on a fixed Node the native decoder stays.
 */
/**
 * Node's own decoder, whatever is installed later. Message keys decode with it, so a key made
 * before this fix loads (or in a process that never parses mail) is the key made after it.
 */
export const NativeTextDecoder = globalThis.TextDecoder;

/** The Encoding Standard's index-windows-1252 for 0x80-0x9F; 0 where the byte stays a C1 control. */
const HIGH_TABLE = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d,
  0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
];

const C1 = /[\u0080-\u009f]/g;

function mapHigh(text: string): string {
  C1.lastIndex = 0;
  if (!C1.test(text)) return text;
  return text.replace(C1, (ch) => {
    const mapped = HIGH_TABLE[ch.charCodeAt(0) - 0x80]!;
    return mapped === 0 ? ch : String.fromCharCode(mapped);
  });
}

type DecodeParameters = Parameters<InstanceType<typeof NativeTextDecoder>['decode']>;

class Windows1252TextDecoder extends NativeTextDecoder {
  override decode(input?: DecodeParameters[0], options?: DecodeParameters[1]): string {
    const text = super.decode(input, options);
    // Single-byte: a streamed chunk never ends inside a character, so each chunk maps on its own.
    return this.encoding === 'windows-1252' ? mapHigh(text) : text;
  }
}

/** Does this Node decode windows-1252 as Latin-1? */
function nodeDecodesWindows1252AsLatin1(): boolean {
  return new NativeTextDecoder('windows-1252').decode(Uint8Array.of(0x80)) !== '\u20ac';
}

export function installWindows1252Decoder(): void {
  if (globalThis.TextDecoder === NativeTextDecoder && nodeDecodesWindows1252AsLatin1()) {
    globalThis.TextDecoder = Windows1252TextDecoder;
  }
}
