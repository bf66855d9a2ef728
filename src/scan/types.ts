/**
 * The scan contract shared by every stage (parse -> normalise -> tokenise -> detect -> verdict).
 * Connectors, workers, the copier and the review UI all speak these types.
 */

export type PartyRole = 'staff' | 'pupil' | 'external';
export type Direction = 'inbound' | 'outbound' | 'internal';

/** Treetops breach levels plus `urgent` for imminent risk to a child; ordered lowest first. */
export const SEVERITIES = ['minor', 'moderate', 'severe', 'urgent'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function highestSeverity(severities: Iterable<Severity>): Severity | null {
  let best: Severity | null = null;
  for (const s of severities) if (best === null || severityRank(s) > severityRank(best)) best = s;
  return best;
}

export interface Party {
  address: string;
  name?: string;
  role: PartyRole;
  academy?: string;
  /** A consumer mail domain (gmail.com, icloud.com, ...): matters for pupil-email and data-leak rules. */
  personalDomain: boolean;
  /**
   * An address in the trust's own domains. A staff member or pupil the directory knows at another
   * address (their own Gmail) keeps their role but is not on a trust account: the pupil-email rules
   * turn on the difference.
   */
  trustAccount: boolean;
}

/** Where a piece of text came from; evidence offsets index `text` exactly as decoded. */
export interface TextField {
  /** `subject`, `body`, or `attachment:<index>` */
  field: string;
  /** Human label, e.g. the attachment's file name. */
  label?: string;
  text: string;
  /** Ranges of `text` that are quoted history (`>` lines, forwarded/original-message blocks). */
  quoted: Array<{ start: number; end: number }>;
}

export interface AttachmentInfo {
  filename?: string;
  contentType: string;
  size: number;
  /** Index into `Message.texts` when text was extracted from it. */
  textField?: string;
  /** Why no text was taken from it, when none was. */
  skipped?: string;
  /** What its bytes say about running code (set by the parse stage when there is something to say). */
  risk?: AttachmentRisk;
}

/** A kind of file that runs code when opened: a program (or installer, shortcut, disk image), a script, an Office file with macros. */
export type RiskyKind = 'program' | 'script' | 'macro_document';

/**
 * Facts about an attachment's bytes for the acceptable-use checks. File names are not kept here
 * (they can carry pupils' names): an archive entry is known by its extension and kind only.
 */
export interface AttachmentRisk {
  /** The bytes start with a program's header: Windows PE (`MZ` .. `PE`), ELF or Mach-O. */
  executable?: 'pe' | 'elf' | 'mach-o';
  /** Macros inside: `vbaProject.bin` in an Office Open XML zip, or a VBA / Macros storage in a legacy OLE file. */
  macros?: 'ooxml' | 'ole';
  /** Set for a zip: its entries that run code, read from central directories only. */
  archive?: {
    /** Entries listed, nested zips included. */
    entries: number;
    /** At most 20, in the order found. */
    risky: ArchiveEntryRisk[];
    /** Why the listing is partial (damaged, too many entries, a nested zip not opened). */
    incomplete?: string;
  };
}

export interface ArchiveEntryRisk {
  /** Lower-cased extension Windows would act on, e.g. `exe`. */
  extension: string;
  kind: RiskyKind;
  /** 1: in the attachment itself; 2: in a zip inside it; 3: one level deeper. */
  depth: number;
  /** Its content is encrypted; its name still says what it is. */
  encrypted?: true;
  /** Its name hides the real extension: a decoy extension before it, a run of blanks, a bidi override. */
  disguised?: true;
  /** A script in a coding project: a `.js` beside web or source files, or any script under `node_modules/`. */
  project?: true;
}

export interface Message {
  messageId?: string;
  date?: string;
  subject: string;
  from?: Party;
  to: Party[];
  cc: Party[];
  bcc: Party[];
  replyTo: Party[];
  direction: Direction;
  /** Header names lower-cased; values decoded, in order of appearance. */
  headers: Record<string, string[]>;
  texts: TextField[];
  attachments: AttachmentInfo[];
  size: { rawBytes: number; textChars: number };
  /** Things the parser had to work around (truncated MIME, unknown charset, limits hit). */
  problems: string[];
}

/** A token of normalised text, with its span in the field's original text. */
export interface Token {
  /** Lower-cased, NFKC, confusables folded: what lexicon words are compared with. */
  norm: string;
  /** Further spellings to try: leetspeak folded, elongations squeezed, spaced letters joined. */
  variants: readonly string[];
  start: number;
  end: number;
  /** Index of the sentence the token belongs to, counted within its field. */
  sentence: number;
  /** Index of the paragraph (text between blank lines) the token belongs to, counted within its field. */
  paragraph: number;
  quoted: boolean;
  /** Part of a web or mail address (`dropdead.nu`, `www.x.com`): run-together phrases are not looked up in it. */
  inLink: boolean;
}

export interface AnalysedField extends TextField {
  tokens: Token[];
}

export interface AnalysedMessage extends Message {
  fields: AnalysedField[];
}

export interface Evidence {
  field: string;
  /** Span of the matched words in the field's text (UTF-16 offsets). */
  start: number;
  end: number;
  /** The matched words exactly as written: the field's `text.slice(start, end)`. */
  match: string;
  /** The match with some words of context, on one line. */
  excerpt: string;
  /** Set when the match is in quoted or forwarded history rather than the sender's own words. */
  quoted?: boolean;
  /**
   * Set when identifying characters of personal data in `match` and `excerpt` are replaced by `*`
   * (`match` is then the masked `text.slice(start, end)`): the unmasked value is never kept.
   */
  masked?: boolean;
}

export interface Finding {
  rule: string;
  description: string;
  category: string;
  severity: Severity;
  /** 0..1 confidence that this finding is real. */
  score: number;
  /** Policy clause cited, e.g. `003_c7be022a1d032c68.txt 7.2.1`. */
  policy: string;
  evidence: Evidence[];
}

/** What a detector may read besides the message: configuration, never I/O or the clock. */
export interface DetectorContext {
  /** Characters of context on each side of a match in an evidence excerpt. */
  excerptContext: number;
}

export interface Detector {
  id: string;
  /**
   * `earlier` holds the findings of the detectors that ran before this one, so a detector may
   * combine them with message facts (a phone number a teacher gives a pupil is a pupil-email breach).
   */
  detect(message: AnalysedMessage, context: DetectorContext, earlier?: readonly Finding[]): Finding[];
}

export interface Verdict {
  flagged: boolean;
  categories: string[];
  severity: Severity | null;
  /** True when a finding needs a person now (severity `urgent`). */
  urgent: boolean;
  findings: Finding[];
  /** Route names the findings trigger (see config `routes`). */
  routes: string[];
}
