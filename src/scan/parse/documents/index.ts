/**
 * Text from office documents and PDFs: Excel, Word and PowerPoint (Office Open XML), OpenDocument
 * text, spreadsheets and presentations, and PDF. The file's own bytes decide how it is read, not
 * its name or MIME type, which mailers often get wrong. Legacy binary Office files and password-
 * protected files are reported as not scanned (`skipped`), as is anything damaged: an extractor
 * never throws, and every read is bounded (see DocumentLimits) inside the worker's own time and
 * heap limits.
 *
 * Dependencies: yauzl (zip.ts), unpdf (pdf.ts), htmlparser2 (xml.ts, already used for HTML mail).
 * The XML of each format is walked here rather than by exceljs, read-excel-file or mammoth: those
 * build the whole workbook or document in memory (mammoth and exceljs via JSZip, which inflates
 * every entry whole) before any of it can be cut, exceljs brings some fifty packages, and none
 * keeps a table's cells apart in its plain-text output the way the personal-data detector needs.
 */
import type { AttachmentInput, ExtractorEnv, ExtractResult, Extractor } from '../attachments.js';
import { decodeText } from '../charset.js';
import { formatCount } from '../format.js';
import { htmlToText } from '../html-to-text.js';
import { cfbSkipReason, isCfb } from './cfb.js';
import { readOfficePackage } from './office.js';
import { TextOutput } from './output.js';
import { PackageReader } from './package.js';
import { readPdf, type PdfLimits } from './pdf.js';
import { shortMessage, Unscannable, ZipPackage, type ZipLimits } from './zip.js';

export interface DocumentLimits extends ZipLimits, PdfLimits {
  /** Cells read from one table row or sheet row; Excel allows 16,384. */
  maxColumns: number;
}

const MiB = 1024 * 1024;

export const DOCUMENT_LIMITS: DocumentLimits = {
  // Real documents have tens to a few thousand parts; an archive of more is not a document.
  maxZipEntries: 10_000,
  // Office XML packs about 5-20 times; a 10 MiB attachment declaring more than this is a bomb.
  maxDeclaredBytes: 512 * MiB,
  // A typical sheet reaches the 2,000,000-character text limit within 20 MiB of XML; parsing
  // runs at about 15-20 MiB/s, so this also keeps a sheet of empty rows well inside maxMillis.
  maxUnpackedBytes: 64 * MiB,
  maxColumns: 1_000,
  maxPdfPages: 500,
  // Per attachment, inside the worker's per-message time limit (10 s by default).
  maxMillis: 5_000,
};

const DOCUMENT_TYPES = [
  'application/pdf',
  'application/x-pdf',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.template',
  'application/vnd.ms-excel.sheet.macroenabled.12',
  'application/vnd.ms-excel.template.macroenabled.12',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.template',
  'application/vnd.ms-word.document.macroenabled.12',
  'application/vnd.ms-word.template.macroenabled.12',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.openxmlformats-officedocument.presentationml.slideshow',
  'application/vnd.openxmlformats-officedocument.presentationml.template',
  'application/vnd.ms-powerpoint.presentation.macroenabled.12',
  'application/vnd.ms-powerpoint.slideshow.macroenabled.12',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.text-template',
  'application/vnd.oasis.opendocument.spreadsheet',
  'application/vnd.oasis.opendocument.spreadsheet-template',
  'application/vnd.oasis.opendocument.presentation',
  'application/vnd.oasis.opendocument.presentation-template',
  // Legacy formats, so that they are reported as such. Not application/vnd.ms-excel: Windows
  // sends CSV files with that type, and those go by their .csv name to the text extractor.
  'application/msword',
  'application/vnd.ms-powerpoint',
];

const DOCUMENT_EXTENSIONS = [
  'pdf',
  'xlsx', 'xlsm', 'xltx', 'xltm',
  'docx', 'docm', 'dotx', 'dotm',
  'pptx', 'pptm', 'ppsx', 'ppsm', 'potx',
  'odt', 'ott', 'ods', 'ots', 'odp', 'otp',
  'doc', 'dot', 'xls', 'xlt', 'ppt', 'pps',
];

/** PDF readers accept the header anywhere in the first kilobyte. */
function isPdf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).includes('%PDF-');
}

function isZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

function looksLikeText(bytes: Uint8Array): boolean {
  return bytes.byteLength > 0 && !bytes.subarray(0, 8192).includes(0);
}

/**
 * "Export to Excel" in web applications often writes an HTML table or tab-separated text and
 * names it .xls: read it as what it is.
 */
function readAsText(input: AttachmentInput, env: ExtractorEnv): ExtractResult {
  const decoded = decodeText(input.bytes, input.charset);
  const problems = decoded.problem ? [decoded.problem] : [];
  if (/^\s*(?:<!doctype html|<html|<table|<\?xml[^>]*>\s*<html)/i.test(decoded.text)) {
    const converted = htmlToText(decoded.text, env.maxTextChars);
    problems.push('an HTML file with an Office or PDF name; read as HTML');
    return { text: converted.text, quoted: [], problems };
  }
  problems.push('a text file with an Office or PDF name; read as text');
  return { text: decoded.text, quoted: [], problems };
}

async function readZip(bytes: Uint8Array, out: TextOutput, limits: DocumentLimits): Promise<ExtractResult> {
  let reader: PackageReader | undefined;
  try {
    reader = new PackageReader(await ZipPackage.open(bytes, limits), out, limits.maxColumns);
    await readOfficePackage(reader);
  } catch (err) {
    if (err instanceof Unscannable) return { skipped: err.reason, problems: [] };
    if (!reader || out.size === 0) return { skipped: `unreadable: damaged file (${shortMessage(err)})`, problems: [] };
    // Damage part-way through: what was read before it is still scanned.
    reader.problem(`stopped at damaged data (${shortMessage(err)})`);
  }
  const problems = [...reader.problems];
  const where = reader.where ? ` in ${reader.where}` : '';
  if (reader.pkg.limitReached) problems.unshift(`${reader.pkg.limitReached}${where}; the rest not read`);
  else if (out.full) problems.unshift(`text cut to ${formatCount(out.max)} characters for scanning${where}`);
  return { text: out.text(), quoted: [], problems };
}

async function extractDocument(input: AttachmentInput, env: ExtractorEnv, limits: DocumentLimits): Promise<ExtractResult> {
  const { bytes } = input;
  const out = new TextOutput(env.maxTextChars);
  if (isZip(bytes)) return readZip(bytes, out, limits);
  if (isPdf(bytes)) return readPdf(bytes, out, limits);
  if (isCfb(bytes)) return { skipped: cfbSkipReason(bytes), problems: [] };
  if (looksLikeText(bytes)) return readAsText(input, env);
  return { skipped: 'unreadable: not a PDF, Office or OpenDocument file', problems: [] };
}

export function createDocumentExtractor(limits: DocumentLimits = DOCUMENT_LIMITS): Extractor {
  return {
    name: 'documents',
    contentTypes: DOCUMENT_TYPES,
    extensions: DOCUMENT_EXTENSIONS,
    async extract(input, env) {
      try {
        return await extractDocument(input, env, limits);
      } catch (err) {
        // A bug or a library failure on hostile input must cost this attachment, not the message.
        return { skipped: `unreadable: ${shortMessage(err)}`, problems: [] };
      }
    },
  };
}
