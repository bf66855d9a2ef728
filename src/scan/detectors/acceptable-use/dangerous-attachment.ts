/**
 * acceptable_use.dangerous_attachment: attachments that run code when opened.
 *
 * - Programs by name (.exe .scr .msi .lnk .jar .iso ...) and scripts (.js .vbs .ps1 .hta .bat ...),
 *   and names that hide them: `report.pdf.exe`, a run of blanks before `.exe`, a bidi override.
 * - Programs by content: a PE, ELF or Mach-O header, worst when the name or MIME type says it is
 *   a PDF, an image or a document.
 * - Office files with macros: a macro-enabled extension (.docm .xlsm ...), a `vbaProject.bin` in
 *   an Office Open XML file whatever its name, a VBA storage in a legacy OLE .doc/.xls.
 * - Zips holding any of these, nested up to two zips deep, encrypted entries included (their names
 *   show). A `.js` in a zip that also holds web or source files (a pupil's coding project) and
 *   scripts under `node_modules/` are not reported; a lone `.js` in a zip is the classic dropper.
 *
 * Severity: `severe` for programs, disguised names and scripts attached directly; `moderate` for
 * macro documents and scripts inside zips, `severe` when a recipient is a pupil.
 * Evidence names the attachment by position and the file by type, never by name (names can
 * carry pupils' names): `attachment 2 of 3: an executable (.exe) inside a zip`.
 */
import { nameFacts, type ExecutableFormat } from '../../parse/file-types.js';
import { severityRank, type AnalysedMessage, type ArchiveEntryRisk, type AttachmentInfo, type Finding, type RiskyKind, type Severity } from '../../types.js';
import { describedEvidence } from '../../evidence.js';
import { MAX_EVIDENCE, type AcceptableUseCheck } from './check.js';

export const DANGEROUS_ATTACHMENT = 'acceptable_use.dangerous_attachment';
/** Social Media and ICT AUP 11.1: "To create or deliberately distribute ICT or communications systems viruses". */
const POLICY = '000_84beb20efc1da5e6.txt 11.1';

interface Observation {
  attachment: number;
  severity: Severity;
  score: number;
  /** What was found, e.g. `an executable (.exe) inside a zip`. */
  what: string;
  /** Raised from moderate because a recipient is a pupil. */
  raised?: boolean;
}

const FORMAT_NAMES: Record<ExecutableFormat, string> = { pe: 'Windows PE', elf: 'Linux ELF', 'mach-o': 'macOS Mach-O' };

const NOUN: Record<RiskyKind, string> = { program: 'an executable', script: 'a script', macro_document: 'an Office document with macros' };

/** MIME types that promise something to look at: a program under one is disguised. */
const DOCUMENT_TYPE = /^(?:image|audio|video|text)\/|^application\/(?:pdf|x-pdf|rtf|msword|vnd\.ms-|vnd\.openxmlformats|vnd\.oasis)/;

function container(depth: number): string {
  return depth <= 1 ? 'inside a zip' : depth === 2 ? 'inside a zip inside a zip' : `inside zips nested ${depth} deep`;
}

function attachmentObservations(info: AttachmentInfo, index: number): Observation[] {
  const out: Observation[] = [];
  const add = (severity: Severity, score: number, what: string) => out.push({ attachment: index, severity, score, what });
  const name = info.filename ? nameFacts(info.filename) : { extension: '' };
  const ext = name.extension ? `.${name.extension}` : '';
  const risk = info.risk;

  if (risk?.executable) {
    const format = FORMAT_NAMES[risk.executable];
    const namedAsOther = ext !== '' && name.kind === undefined;
    if (namedAsOther || DOCUMENT_TYPE.test(info.contentType)) {
      const label = namedAsOther ? `a ${ext} file` : info.contentType;
      add('severe', 0.97, `a program (${format} header) labelled as ${label}`);
    } else {
      add('severe', 0.95, `a program (${format} header)${ext ? ` named ${ext}` : ''}`);
    }
  }
  if (name.kind === 'program' || name.kind === 'script') {
    const noun = NOUN[name.kind];
    const disguise = name.disguise;
    if (disguise?.how === 'decoy') add('severe', 0.95, `${noun} disguised by a double extension (.${disguise.decoy}${ext})`);
    else if (disguise?.how === 'padding') add('severe', 0.95, `${noun} (${ext}) whose name hides its extension behind blank space`);
    else if (disguise?.how === 'bidi') add('severe', 0.95, `${noun} (${ext}) whose name is reversed by a right-to-left override`);
    else if (!risk?.executable) add('severe', name.kind === 'program' ? 0.9 : 0.85, `${noun} (${ext})`);
  }
  if (name.kind === 'macro_document') add('moderate', 0.7, `${NOUN.macro_document} (${ext})`);
  else if (risk?.macros === 'ooxml') add('moderate', 0.8, `${NOUN.macro_document} (vbaProject.bin${ext ? ` in a ${ext} file` : ''})`);
  if (risk?.macros === 'ole') add('moderate', 0.8, `a legacy Office document with VBA macros${ext ? ` (${ext})` : ''}`);

  const seen = new Set<string>();
  for (const entry of risk?.archive?.risky ?? []) {
    if (entry.project) continue;
    const key = `${entry.kind} ${entry.extension} ${entry.depth} ${entry.encrypted ?? ''} ${entry.disguised ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ attachment: index, ...entryObservation(entry) });
  }
  return out;
}

function entryObservation(entry: ArchiveEntryRisk): Omit<Observation, 'attachment'> {
  const where = container(entry.depth);
  const noun = NOUN[entry.kind];
  const encrypted = entry.encrypted ? 'an encrypted entry named as ' : '';
  const what = `${encrypted}${noun}${entry.disguised ? ' with a disguised name' : ''} (.${entry.extension}) ${where}`;
  if (entry.kind === 'program' || entry.disguised) return { severity: 'severe', score: entry.disguised ? 0.93 : 0.9, what };
  return { severity: 'moderate', score: entry.kind === 'script' ? 0.75 : 0.65, what };
}

function hasPupilRecipient(message: AnalysedMessage): boolean {
  return [...message.to, ...message.cc, ...message.bcc].some((p) => p.role === 'pupil');
}

export const dangerousAttachment: AcceptableUseCheck = {
  id: DANGEROUS_ATTACHMENT,
  check(message) {
    if (message.attachments.length === 0) return [];
    const found = message.attachments.flatMap((info, index) => attachmentObservations(info, index));
    if (found.length === 0) return [];
    if (hasPupilRecipient(message)) {
      for (const o of found) {
        if (o.severity !== 'moderate') continue;
        o.severity = 'severe';
        o.raised = true;
      }
    }
    found.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || b.score - a.score || a.attachment - b.attachment);
    const top = found[0]!;
    const total = message.attachments.length;
    const finding: Finding = {
      rule: DANGEROUS_ATTACHMENT,
      description:
        `Dangerous attachment: ${top.what}` +
        (found.length > 1 ? `; ${found.length - 1} more` : '') +
        (top.raised ? '; severe because a recipient is a pupil' : ''),
      category: DANGEROUS_ATTACHMENT,
      severity: top.severity,
      score: top.score,
      policy: POLICY,
      evidence: found
        .slice(0, MAX_EVIDENCE)
        .map((o) => describedEvidence(`attachment:${o.attachment}`, o.what, `attachment ${o.attachment + 1} of ${total}: ${o.what}`)),
    };
    return [finding];
  },
};
