/**
 * Lists a zip attachment's entries for the dangerous-attachment check: which of them are programs,
 * scripts or macro documents, by name, without reading them. Only central directories are read;
 * the one thing ever unpacked is a nested `.zip` entry, to list its own directory, and that is
 * bounded by its declared size, the bytes really inflated, how many are opened and how deep.
 * Encrypted entries are listed too: a zip's directory is never encrypted, so an encrypted
 * `invoice.exe` still shows its name.
 *
 * yauzl (see documents/zip.ts) reads with `decodeStrings: false` so that a hostile name (`../x`,
 * an absolute path) is not an error that hides the rest of the listing, and with
 * `validateEntrySizes: false` because sizes are checked here, against our own limits.
 */
import { fromBufferPromise, type Entry, type ZipFile } from 'yauzl';
import type { ArchiveEntryRisk } from '../types.js';
import { shortMessage } from './documents/zip.js';
import { nameFacts } from './file-types.js';
import { formatBytes, formatCount } from './format.js';

export interface ArchiveLimits {
  /** Entries listed in all, nested zips included. */
  maxEntries: number;
  /** Depth of the deepest entries listed: 1 is the attachment's own entries, 3 a zip in a zip in it. */
  maxDepth: number;
  /** Nested zips unpacked (to list their directories) per attachment. */
  maxNestedZips: number;
  /** A nested zip declaring or inflating to more than this is not opened. */
  maxNestedBytes: number;
  /** Bytes inflated for nested zips per attachment. */
  maxNestedTotalBytes: number;
  /** Declared unpacked size above which the attachment is reported as a likely zip bomb. */
  maxDeclaredBytes: number;
  /** Risky entries kept. */
  maxRisky: number;
}

const MiB = 1024 * 1024;

export const ARCHIVE_LIMITS: ArchiveLimits = {
  // As documents/index.ts: more than this is not a document or a project folder.
  maxEntries: 10_000,
  // "Nested one or two levels": droppers nest once, rarely twice; deeper is a bomb or a backup.
  maxDepth: 3,
  maxNestedZips: 16,
  maxNestedBytes: 8 * MiB,
  maxNestedTotalBytes: 32 * MiB,
  maxDeclaredBytes: 1024 * MiB,
  maxRisky: 20,
};

export interface ArchiveListing {
  entries: number;
  risky: ArchiveEntryRisk[];
  /** A `vbaProject.bin` among the attachment's own entries: an Office file with macros. */
  vbaProject: boolean;
  /** `[Content_Types].xml` or `mimetype` among its own entries: an Office or OpenDocument file. */
  package: boolean;
  /** Limits hit and damage met; `partial` says whether entries may be missing from the listing. */
  problems: string[];
  partial: boolean;
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 0x03 && bytes[3] === 0x04) || (bytes[2] === 0x05 && bytes[3] === 0x06));
}

/** Files that make a zip a coding project, beside which a `.js` is source, not a dropper. */
const PROJECT_FILES = new Set([
  'html', 'htm', 'css', 'scss', 'json', 'ts', 'tsx', 'jsx', 'mjs', 'vue', 'svelte', 'md', 'py', 'java', 'php', 'c', 'cpp', 'h', 'cs',
]);

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Names are UTF-8 when flagged so, and in practice often when not; else CP437, read as Latin-1 (extensions are ASCII). */
function decodeName(raw: Buffer): string {
  try {
    return UTF8.decode(raw);
  } catch {
    return raw.toString('latin1');
  }
}

/** The listing being built, and what the limits count while nested zips are opened. */
interface ListState extends ArchiveListing {
  limits: ArchiveLimits;
  nestedOpened: number;
  nestedBytes: number;
}

async function openZip(bytes: Buffer): Promise<ZipFile> {
  return fromBufferPromise(bytes, { decodeStrings: false, validateEntrySizes: false, strictFileNames: false });
}

function note(state: ListState, problem: string, partial: boolean): void {
  if (!state.problems.includes(problem)) state.problems.push(problem);
  if (partial) state.partial = true;
}

/** Inflates a nested zip entry up to `cap` bytes; undefined (and a problem noted) when it is bigger. */
async function readNested(zip: ZipFile, entry: Entry, cap: number, state: ListState): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = await zip.openReadStreamPromise(entry);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    state.nestedBytes += chunk.byteLength;
    // Leaving the loop destroys the stream: nothing past the cap is inflated.
    if (total > cap) {
      note(state, `a zip inside unpacks to more than ${formatBytes(cap)}; not opened`, true);
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

async function listLevel(bytes: Buffer, depth: number, state: ListState): Promise<void> {
  const { limits } = state;
  const where = depth === 1 ? 'damaged zip' : 'a zip inside is damaged';
  let zip: ZipFile;
  try {
    zip = await openZip(bytes);
  } catch (err) {
    note(state, `${where} (${shortMessage(err)}); its entries not listed`, true);
    return;
  }
  const found: ArchiveEntryRisk[] = [];
  const nested: Entry[] = [];
  let declared = 0;
  let projectFiles = false;
  try {
    for await (const entry of zip.eachEntry()) {
      if (state.entries >= limits.maxEntries) {
        note(state, `zip listing stopped after ${formatCount(limits.maxEntries)} entries`, true);
        break;
      }
      state.entries++;
      declared += entry.uncompressedSize;
      const name = decodeName(entry.fileNameRaw);
      if (name.endsWith('/') || name.endsWith('\\')) continue;
      const lower = name.toLowerCase().replace(/\\/g, '/');
      if (depth === 1) {
        if (lower === 'vbaproject.bin' || lower.endsWith('/vbaproject.bin')) state.vbaProject = true;
        if (lower === '[content_types].xml' || lower === 'mimetype') state.package = true;
      }
      const facts = nameFacts(name);
      if (PROJECT_FILES.has(facts.extension)) projectFiles = true;
      if (facts.extension === 'zip') nested.push(entry);
      if (!facts.kind) continue;
      const risk: ArchiveEntryRisk = { extension: facts.extension, kind: facts.kind, depth };
      if (entry.isEncrypted()) risk.encrypted = true;
      if (facts.disguise) risk.disguised = true;
      if (facts.kind === 'script' && /(?:^|\/)node_modules\//.test(lower)) risk.project = true;
      found.push(risk);
    }
  } catch (err) {
    note(state, `${where} (${shortMessage(err)}); the rest of its entries not listed`, true);
  }
  if (depth === 1 && declared > limits.maxDeclaredBytes) {
    note(state, `zip declares ${formatBytes(declared)} unpacked (a zip bomb?); listed, nothing unpacked`, false);
  }
  for (const risk of found) {
    if (risk.extension === 'js' && projectFiles) risk.project = true;
    if (state.risky.length < limits.maxRisky) state.risky.push(risk);
  }
  for (const entry of nested) {
    if (depth >= limits.maxDepth) {
      note(state, `zips nested more than ${limits.maxDepth - 1} levels deep; not opened`, true);
      break;
    }
    if (entry.isEncrypted()) {
      note(state, 'an encrypted zip inside; not opened', true);
      continue;
    }
    if (state.nestedOpened >= limits.maxNestedZips) {
      note(state, `more than ${formatCount(limits.maxNestedZips)} zips inside; the rest not opened`, true);
      break;
    }
    const room = Math.min(limits.maxNestedBytes, limits.maxNestedTotalBytes - state.nestedBytes);
    if (entry.uncompressedSize > room) {
      note(state, `a zip inside declares ${formatBytes(entry.uncompressedSize)} unpacked, over the ${formatBytes(room)} limit; not opened`, true);
      continue;
    }
    state.nestedOpened++;
    let inner: Buffer | undefined;
    try {
      inner = await readNested(zip, entry, room, state);
    } catch (err) {
      note(state, `a zip inside is damaged (${shortMessage(err)}); its entries not listed`, true);
      continue;
    }
    if (inner) await listLevel(inner, depth + 1, state);
  }
  zip.close();
}

/** Lists a zip's risky entries; never throws (damage and limits become `problems`). */
export async function listZip(bytes: Uint8Array, limits: ArchiveLimits = ARCHIVE_LIMITS): Promise<ArchiveListing> {
  const state: ListState = {
    limits,
    entries: 0,
    risky: [],
    vbaProject: false,
    package: false,
    problems: [],
    partial: false,
    nestedOpened: 0,
    nestedBytes: 0,
  };
  try {
    await listLevel(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 1, state);
  } catch (err) {
    note(state, `zip could not be listed (${shortMessage(err)})`, true);
  }
  const { limits: _limits, nestedOpened: _opened, nestedBytes: _bytes, ...listing } = state;
  return listing;
}
