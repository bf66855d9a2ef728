/**
 * What an attachment's bytes say about running code, for the acceptable-use checks: a program's
 * header, macros in an Office file, and (for a zip) the entries that are programs, scripts or macro
 * documents. Cheap for ordinary mail: two byte comparisons unless the file is a zip or an OLE file,
 * and for those only directories are read (see archive.ts). Runs on every attachment whatever its
 * size or the text-extraction limits, because a program is no less a program for being large.
 */
import type { AttachmentRisk } from '../types.js';
import { isZip, listZip, ARCHIVE_LIMITS, type ArchiveLimits } from './archive.js';
import { cfbHasMacros } from './documents/cfb.js';
import { executableFormat } from './file-types.js';

export interface RiskInspection {
  /** Undefined when there is nothing to say. */
  risk?: AttachmentRisk;
  problems: string[];
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
