/**
 * What an attachment's bytes say about running code, for the acceptable-use checks: a program's
 * header, macros in an Office file, and (for a zip) the entries that are programs, scripts or macro
 * documents. Cheap for ordinary mail: two byte comparisons unless the file is a zip or an OLE file,
 * and for those only directories are read (see archive.ts). Runs on every attachment whatever its
 * size or the text-extraction limits, because a program is no less a program for being large.
 */
import type { AttachmentRisk } from '../types.js';
import { isZip, listZip, ARCHIVE_LIMITS, type ArchiveLimits } from './archive.js';
import { isCfb } from './documents/cfb.js';
import { executableFormat } from './file-types.js';

export interface RiskInspection {
  /** Undefined when there is nothing to say. */
  risk?: AttachmentRisk;
  problems: string[];
}

/** Directory entries of a compound file: 128 bytes each, in sectors after a 512-byte header. */
const CFB_HEADER_BYTES = 512;
const CFB_ENTRY_BYTES = 128;
const CFB_NAME_LENGTH_AT = 64;

/**
 * Word keeps VBA in a `Macros` storage, Excel in `_VBA_PROJECT_CUR`; both hold a `VBA` storage and
 * a `_VBA_PROJECT` stream. A name counts only at the start of a directory entry with that length,
 * as documents/cfb.ts reads them, not as text anywhere in the file.
 */
const VBA_NAMES = ['VBA', '_VBA_PROJECT', '_VBA_PROJECT_CUR', 'Macros'];

function cfbHasEntry(buffer: Buffer, name: string): boolean {
  const needle = Buffer.from(name, 'utf16le');
  for (let at = buffer.indexOf(needle, CFB_HEADER_BYTES); at >= 0; at = buffer.indexOf(needle, at + 2)) {
    if ((at - CFB_HEADER_BYTES) % CFB_ENTRY_BYTES !== 0 || at + CFB_NAME_LENGTH_AT + 2 > buffer.length) continue;
    if (buffer.readUInt16LE(at + CFB_NAME_LENGTH_AT) === (name.length + 1) * 2) return true;
  }
  return false;
}

export function cfbHasMacros(bytes: Uint8Array): boolean {
  if (!isCfb(bytes)) return false;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return VBA_NAMES.some((name) => cfbHasEntry(buffer, name));
}

export async function inspectAttachment(bytes: Uint8Array, limits: ArchiveLimits = ARCHIVE_LIMITS): Promise<RiskInspection> {
  const risk: AttachmentRisk = {};
  const problems: string[] = [];
  try {
    const executable = executableFormat(bytes);
    if (executable) risk.executable = executable;
    if (cfbHasMacros(bytes)) risk.macros = 'ole';
    if (isZip(bytes)) {
      const listing = await listZip(bytes, limits);
      problems.push(...listing.problems);
      if (listing.vbaProject) risk.macros = 'ooxml';
      // An Office or OpenDocument file's parts are no archive of files; it is listed only when
      // something in it runs code or the listing was cut short.
      if (!listing.package || listing.risky.length > 0 || listing.partial) {
        risk.archive = { entries: listing.entries, risky: listing.risky };
        if (listing.partial) risk.archive.incomplete = listing.problems.join('; ');
      }
    }
  } catch (err) {
    // A bug here must cost this check, not the message.
    problems.push(`not inspected for programs (${err instanceof Error ? err.message : String(err)})`);
  }
  return Object.keys(risk).length > 0 ? { risk, problems } : { problems };
}
