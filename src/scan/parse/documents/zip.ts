/**
 * Office Open XML and OpenDocument files are zip packages. Reading one is bounded three ways
 * before and while it is unzipped: the number of files in it, the unpacked sizes its directory
 * declares (a zip bomb declares gigabytes), and the bytes really unpacked and the time spent
 * (a header can lie), after which what was read so far is kept.
 *
 * Dependency: yauzl 3.4.0 (MIT; one dependency, pend). The long-standing Node zip reader built for
 * untrusted input: it reads the central directory first, so entries and their declared sizes are
 * known before anything is inflated; it streams one entry at a time through Node's zlib, and fails
 * an entry that unpacks to more than it declared (validateEntrySizes). fflate and JSZip inflate
 * whole entries into memory; the Office libraries (exceljs, mammoth) build the whole document.
 */
import { fromBufferPromise, type Entry, type ZipFile } from 'yauzl';
import { formatBytes, formatCount } from '../format.js';
import { xmlStream, type XmlHandler } from './xml.js';

export interface ZipLimits {
  maxZipEntries: number;
  maxDeclaredBytes: number;
  maxUnpackedBytes: number;
  maxMillis: number;
}

/** A file that cannot be scanned as a whole: the reason becomes the attachment's `skipped`. */
export class Unscannable extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export class ZipPackage {
  private readonly entries = new Map<string, Entry>();
  private bytesLeft: number;
  private readonly deadline: number;
  /** Set once a read limit stops reading: the problem to report. */
  limitReached: string | undefined;

  private constructor(
    private readonly zip: ZipFile,
    private readonly limits: ZipLimits,
  ) {
    this.bytesLeft = limits.maxUnpackedBytes;
    this.deadline = Date.now() + limits.maxMillis;
  }

  static async open(bytes: Uint8Array, limits: ZipLimits): Promise<ZipPackage> {
    let zip: ZipFile;
    try {
      zip = await fromBufferPromise(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        strictFileNames: false,
        validateEntrySizes: true,
      });
    } catch (err) {
      throw new Unscannable(`unreadable: damaged zip (${shortMessage(err)})`);
    }
    if (zip.entryCount > limits.maxZipEntries) {
      throw new Unscannable(`more than ${formatCount(limits.maxZipEntries)} files inside; not opened`);
    }
    const pkg = new ZipPackage(zip, limits);
    let declared = 0;
    try {
      for await (const entry of zip.eachEntry()) {
        declared += entry.uncompressedSize;
        pkg.entries.set(entry.fileName.toLowerCase(), entry);
      }
    } catch (err) {
      throw new Unscannable(`unreadable: damaged zip (${shortMessage(err)})`);
    }
    if (declared > limits.maxDeclaredBytes) {
      throw new Unscannable(`declares more than ${formatBytes(limits.maxDeclaredBytes)} unpacked; not opened`);
    }
    return pkg;
  }

  /** Part names are case-insensitive in both formats. */
  has(name: string): boolean {
    return this.entries.has(name.toLowerCase());
  }

  get exhausted(): boolean {
    return this.limitReached !== undefined;
  }

  /**
   * Streams a part through an XML handler until it ends, `stop` says so, or a read limit is
   * reached. A missing part is read as empty: optional parts are looked up by name.
   */
  async parse(name: string, handler: XmlHandler, stop: () => boolean = () => false): Promise<void> {
    const entry = this.entries.get(name.toLowerCase());
    if (!entry || this.exhausted) return;
    if (entry.isEncrypted()) throw new Unscannable('encrypted');
    const xml = xmlStream(handler);
    const decoder = new TextDecoder('utf-8');
    const stream = await this.zip.openReadStreamPromise(entry);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const take = Math.min(chunk.byteLength, this.bytesLeft);
      this.bytesLeft -= take;
      xml.write(decoder.decode(chunk.subarray(0, take), { stream: true }));
      if (this.bytesLeft <= 0) {
        this.limitReached = `stopped after ${formatBytes(this.limits.maxUnpackedBytes)} of unpacked XML`;
      } else if (Date.now() > this.deadline) {
        this.limitReached = `stopped after ${formatCount(this.limits.maxMillis / 1000)} s`;
      }
      // Leaving the loop destroys the stream, so the rest of the entry is never inflated.
      if (this.exhausted || stop()) break;
    }
    xml.write(decoder.decode());
    xml.end();
  }

  /** A small part's text (a `mimetype` file), or undefined when it is missing. */
  async read(name: string): Promise<string | undefined> {
    if (!this.has(name)) return undefined;
    let text = '';
    await this.parse(name, { text: (t) => (text += t) });
    return text;
  }
}

/** An error's first sentence, short enough for a skip reason. */
export function shortMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const flat = message.replace(/\s+/g, ' ').trim().split(/\.(?: |$)/)[0] ?? '';
  return flat.length > 80 ? `${flat.slice(0, 80)}…` : flat;
}
