/**
 * PDF text, page by page, up to a page limit, the text limit and a time limit.
 *
 * Dependency: unpdf 1.7.0 (MIT, no dependencies, 2.3 MB), from the UnJS project: Mozilla's PDF.js
 * (5.6.205 here) bundled for server runtimes without the canvas it needs only for rendering.
 * pdfjs-dist itself is 41 MB and pulls in @napi-rs/canvas (a further 33 MB of native binaries) as
 * an optional dependency; its newer releases, and unpdf's, need Node 22, while Kestrel supports 20.
 * PDF.js is pure JavaScript (no process, no native build), parses in this thread, reports
 * password-protected files as PasswordException, and hands out text page by page, so reading can
 * stop at any page. Loaded on first use: mail without PDFs never pays for it.
 */
import type { ExtractResult } from '../attachments.js';
import { formatCount } from '../format.js';
import type { TextOutput } from './output.js';
import { shortMessage } from './zip.js';

export interface PdfLimits {
  maxPdfPages: number;
  maxMillis: number;
}

/** The part of PDF.js's TextItem read here (marked-content items have no `str`). */
interface TextPiece {
  str: string;
  width: number;
  height: number;
  hasEOL: boolean;
}

/** A gap wider than this many times the text height is a column gap: a table cell boundary. */
const COLUMN_GAP = 2;

/**
 * A page's text as lines. PDF.js marks line ends and fills gaps with a space item as wide as the
 * gap; a wide one separates columns, so it becomes a TAB and a table's rows read as delimited rows.
 */
export function pageLines(items: readonly object[]): string[] {
  const lines: string[] = [];
  let line = '';
  let height = 0;
  for (const item of items) {
    if (!('str' in item)) continue;
    const piece = item as TextPiece;
    if (piece.str.trim() === '' && height > 0 && piece.width > COLUMN_GAP * height) line += '\t';
    else line += piece.str;
    if (piece.height > 0) height = piece.height;
    if (piece.hasEOL) {
      lines.push(line);
      line = '';
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => l.replace(/[ \t]*\t[ \t]*/g, '\t').trimEnd()).filter((l) => l.trim() !== '');
}

export async function readPdf(bytes: Uint8Array, out: TextOutput, limits: PdfLimits): Promise<ExtractResult> {
  const deadline = Date.now() + limits.maxMillis;
  const { getResolvedPDFJS } = await import('unpdf');
  const { getDocument } = await getResolvedPDFJS();
  const task = getDocument({
    // A copy: PDF.js may transfer (and so empty) the buffer it is given.
    data: bytes.slice(),
    verbosity: 0, // PDF.js warns with console.log, which would corrupt JSONL output.
    isEvalSupported: false,
    useSystemFonts: false,
    disableFontFace: true,
    enableXfa: false,
    stopAtErrors: false,
  });
  try {
    let doc: Awaited<typeof task.promise>;
    try {
      doc = await task.promise;
    } catch (err) {
      const name = err instanceof Error ? err.name : '';
      if (name === 'PasswordException') return { skipped: 'encrypted', problems: [] };
      if (name === 'InvalidPDFException') return { skipped: 'unreadable: damaged PDF (no valid structure)', problems: [] };
      return { skipped: `unreadable: damaged PDF (${shortMessage(err)})`, problems: [] };
    }
    const problems: string[] = [];
    const pages = Math.min(doc.numPages, limits.maxPdfPages);
    if (pages < doc.numPages) {
      problems.push(`only the first ${formatCount(pages)} of ${formatCount(doc.numPages)} pages read`);
    }
    for (let n = 1; n <= pages; n++) {
      if (Date.now() > deadline) {
        problems.push(`stopped after ${formatCount(limits.maxMillis / 1000)} s at page ${formatCount(n)} of ${formatCount(doc.numPages)}`);
        break;
      }
      try {
        const page = await doc.getPage(n);
        const content = await page.getTextContent();
        out.block();
        for (const line of pageLines(content.items)) out.line(line);
        page.cleanup();
      } catch (err) {
        problems.push(`page ${formatCount(n)} could not be read (${shortMessage(err)})`);
      }
      if (out.full) {
        problems.push(`text cut to ${formatCount(out.max)} characters for scanning at page ${formatCount(n)} of ${formatCount(doc.numPages)}`);
        break;
      }
    }
    if (out.size === 0 && problems.length === 0) {
      return { skipped: 'no text in the PDF (a scanned or image-only document?)', problems: [] };
    }
    return { text: out.text(), quoted: [], problems };
  } finally {
    // Releasing PDF.js's copy of the document must not cost the text already read.
    await task.destroy().catch(() => undefined);
  }
}
