/**
 * A case as a PDF for HR or the LADO: A4, text only (nothing from the mail is ever embedded but its
 * words), in the order a reader needs it: the facts, the parties, the findings with their evidence
 * (matched words in bold), where the message was seen, the copies sent, the outcome history and the
 * audit trail. Every page carries who exported it, when, and its page number.
 */
import PDFDocument from 'pdfkit';
import { evidenceWhere, excerptParts } from '../views/evidence.js';
import { ESCALATION_LABELS, formatBytes, formatDate, STATUS_LABELS } from '../views/format.js';
import type { FlagCase } from './case.js';

const MARGIN = 50;
/** Room under the text for the footer. */
const BOTTOM_MARGIN = 64;
const REGULAR = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const ITALIC = 'Helvetica-Oblique';
const MUTED = '#555555';
const RULE = '#bbbbbb';

/** Characters the standard fonts' WinAnsi encoding has beyond Latin-1 (pdfkit maps these itself). */
const WIN_ANSI_EXTRA = new Set([0x152, 0x153, 0x160, 0x161, 0x178, 0x17d, 0x17e, 0x192, 0x2c6, 0x2dc, 0x2013, 0x2014, 0x2018, 0x2019, 0x201a, 0x201c, 0x201d, 0x201e, 0x2020, 0x2021, 0x2022, 0x2026, 0x2030, 0x2039, 0x203a, 0x20ac, 0x2122]);

function isWinAnsi(code: number): boolean {
  return code === 0x0a || (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(code);
}

/**
 * The standard PDF fonts cover Western European text only: accents outside it lose their accent
 * (NFKD) and anything else (emoji, other scripts) becomes `?`, so the PDF never shows wrong
 * glyphs. The JSON export keeps every character.
 */
export function pdfText(text: string): string {
  let out = '';
  for (const char of text.normalize('NFC')) {
    const code = char.codePointAt(0)!;
    if (isWinAnsi(code)) out += char;
    else if (code === 0x09 || code === 0x0d) out += ' ';
    else {
      const base = char.normalize('NFKD').replace(/\p{M}/gu, '');
      out += [...base].every((c) => isWinAnsi(c.codePointAt(0)!)) && base !== '' ? base : '?';
    }
  }
  return out;
}

type Doc = PDFKit.PDFDocument;

function contentWidth(doc: Doc): number {
  return doc.page.width - MARGIN * 2;
}

/** A heading never sits alone at the foot of a page. */
function heading(doc: Doc, text: string): void {
  if (doc.y > doc.page.maxY() - 80) doc.addPage();
  doc.moveDown(0.8).font(BOLD).fontSize(13).fillColor('black').text(pdfText(text), MARGIN, doc.y, { width: contentWidth(doc) });
  doc.moveDown(0.3).font(REGULAR).fontSize(10);
}

function paragraph(doc: Doc, text: string, options: { font?: string; color?: string; size?: number } = {}): void {
  doc
    .font(options.font ?? REGULAR)
    .fontSize(options.size ?? 10)
    .fillColor(options.color ?? 'black')
    .text(pdfText(text), MARGIN, doc.y, { width: contentWidth(doc) });
}

/** A table with a header row; rows move to the next page whole. Widths are fractions of the text width. */
function table(doc: Doc, header: string[], rows: string[][], widths: number[]): void {
  const width = contentWidth(doc);
  doc.font(REGULAR).fontSize(9).fillColor('black');
  doc.table({
    position: { x: MARGIN, y: doc.y },
    maxWidth: width,
    columnStyles: widths.map((w) => ({ width: w * width })),
    defaultStyle: { border: { bottom: 0.5 }, borderColor: RULE, padding: [3, 4] },
    data: [header.map((text) => ({ text: pdfText(text), font: { src: BOLD }, backgroundColor: '#eeeeee', type: 'TH' as const })), ...rows.map((row) => row.map((text) => pdfText(text)))],
  });
  doc.x = MARGIN;
  doc.moveDown(0.5);
}

function factsTable(doc: Doc, facts: Array<[string, string]>): void {
  const width = contentWidth(doc);
  doc.font(REGULAR).fontSize(10).fillColor('black');
  doc.table({
    position: { x: MARGIN, y: doc.y },
    maxWidth: width,
    columnStyles: [{ width: 0.25 * width }, { width: 0.75 * width }],
    defaultStyle: { border: { bottom: 0.5 }, borderColor: RULE, padding: [3, 4] },
    data: facts.map(([label, value]) => [{ text: pdfText(label), font: { src: BOLD } }, pdfText(value)]),
  });
  doc.x = MARGIN;
  doc.moveDown(0.5);
}

/** The excerpt on one paragraph, the matched words in bold. */
function excerptLine(doc: Doc, where: string, evidence: { match: string; excerpt: string }): void {
  const { before, match, after } = excerptParts(evidence);
  const segments: Array<[string, string]> = [
    [ITALIC, `${where}: `],
    [REGULAR, before],
    [BOLD, match],
    [REGULAR, after],
  ].filter((s): s is [string, string] => s[1] !== '');
  doc.fontSize(10).fillColor('black');
  doc.x = MARGIN + 14;
  segments.forEach(([font, text], index) => {
    const last = index === segments.length - 1;
    doc.font(font).text(pdfText(text), { width: contentWidth(doc) - 14, continued: !last });
  });
  doc.x = MARGIN;
  doc.moveDown(0.2);
}

function findings(doc: Doc, flagCase: FlagCase): void {
  const hidden = flagCase.hiddenFindings;
  if (hidden > 0) {
    paragraph(doc, `${hidden} other ${hidden === 1 ? 'finding' : 'findings'} of this flag ${hidden === 1 ? 'is' : 'are'} outside the categories the exporter's role covers and ${hidden === 1 ? 'is' : 'are'} not included.`, { font: ITALIC, color: MUTED });
    doc.moveDown(0.3);
  }
  flagCase.findings.forEach((finding, index) => {
    if (doc.y > doc.page.maxY() - 70) doc.addPage();
    paragraph(doc, `${index + 1}. ${finding.rule} (${finding.severity})`, { font: BOLD, size: 11 });
    paragraph(doc, finding.description);
    paragraph(doc, `Category ${finding.category} · score ${finding.score.toFixed(2)} · policy ${finding.policy}`, { color: MUTED, size: 9 });
    doc.moveDown(0.2);
    for (const evidence of finding.evidence) {
      excerptLine(doc, evidenceWhere(evidence), evidence);
    }
    doc.moveDown(0.5);
  });
}

function footer(doc: Doc, flagCase: FlagCase, timeZone: string): void {
  const range = doc.bufferedPageRange();
  const who = `${flagCase.exportedBy.displayName} (${flagCase.exportedBy.username}, ${flagCase.exportedBy.role})`;
  const line = pdfText(`Flag ${flagCase.flag.id} · exported by ${who} on ${formatDate(flagCase.exportedAt, timeZone)} · confidential`);
  for (let index = 0; index < range.count; index++) {
    doc.switchToPage(range.start + index);
    // The footer sits in the bottom margin: without this, writing there would start a new page.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    const y = doc.page.height - 40;
    doc.font(REGULAR).fontSize(8).fillColor(MUTED);
    doc.text(line, MARGIN, y, { width: contentWidth(doc) - 70, lineBreak: false });
    doc.text(`Page ${index + 1} of ${range.count}`, MARGIN, y, { width: contentWidth(doc), align: 'right', lineBreak: false });
    doc.page.margins.bottom = bottom;
  }
}

function caseFacts(flagCase: FlagCase, timeZone: string): Array<[string, string]> {
  const flag = flagCase.flag;
  const when = (date: Date | null, none: string) => (date ? formatDate(date, timeZone) : none);
  const facts: Array<[string, string]> = [
    ['Subject', flag.subject ?? '(no subject)'],
    ['Sent', flag.sentAt ? formatDate(new Date(flag.sentAt), timeZone) : 'no readable date'],
    ['Flagged', formatDate(flag.flaggedAt, timeZone)],
    ['Direction', flag.direction],
    ['Status', `${STATUS_LABELS[flag.status]}${flag.statusChangedAt ? ` since ${formatDate(flag.statusChangedAt, timeZone)}` : ''}`],
    ['Severity', `${flag.severity ?? 'none'}${flag.urgent ? ' (urgent: imminent risk to a child)' : ''}`],
    ['Categories', flag.categories.join(', ')],
    ['Academies', flag.academies.join(', ') || 'none'],
    ['Acknowledged', flag.acknowledgedAt ? `${when(flag.acknowledgedAt, '')}${flag.acknowledgedBy ? ` by ${flag.acknowledgedBy}` : ''}` : 'not yet'],
    ['Closed', when(flag.closedAt, 'open')],
    ['Message-ID', flag.messageId ?? 'none'],
    ['Routes', flag.routes.join(', ') || 'none'],
    ['Similar flags', flag.groupSize > 1 ? `${flag.groupSize} in the same group` : 'none'],
  ];
  if (flag.problems.length > 0) facts.push(['Problems while scanning', flag.problems.join('; ')]);
  if (flag.attachmentsNotScanned.length > 0) {
    facts.push(['Attachments not scanned', flag.attachmentsNotScanned.map((a) => `${a.contentType}, ${formatBytes(a.size)}: ${a.reason}`).join('; ')]);
  }
  return facts;
}

export function casePdf(flagCase: FlagCase, timeZone: string): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN, left: MARGIN, right: MARGIN, bottom: BOTTOM_MARGIN },
    bufferPages: true,
    info: { Title: `Kestrel case: flag ${flagCase.flag.id}`, Author: pdfText(flagCase.exportedBy.displayName), Creator: 'Kestrel', CreationDate: flagCase.exportedAt },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const when = (date: Date) => formatDate(date, timeZone);

  doc.font(BOLD).fontSize(18).text(`Kestrel case: flag ${flagCase.flag.id}`, MARGIN, MARGIN);
  paragraph(doc, flagCase.trust, { size: 11 });
  paragraph(doc, 'Confidential safeguarding record. Share only with those who need it to act on this case.', { font: ITALIC, color: MUTED, size: 9 });

  heading(doc, 'Facts');
  factsTable(doc, caseFacts(flagCase, timeZone));

  heading(doc, 'Parties');
  const { from, recipients } = flagCase.parties;
  table(
    doc,
    ['Party', 'Address', 'Role', 'Academy'],
    [...(from ? [['From', from] as const] : []), ...recipients.map((r) => ['To', r] as const)].map(([kind, p]) => [kind, p.address, p.role, p.academy ?? '']),
    [0.12, 0.48, 0.15, 0.25],
  );

  heading(doc, 'Findings and evidence');
  findings(doc, flagCase);

  heading(doc, 'Seen in');
  table(doc, ['Mailbox', 'Folder', 'UID', 'First seen'], flagCase.occurrences.map((o) => [o.account, o.folder, String(o.uid), when(o.seenAt)]), [0.45, 0.2, 0.1, 0.25]);

  heading(doc, 'Copies sent');
  if (flagCase.deliveries.length === 0) paragraph(doc, 'No copies were sent for this flag.', { color: MUTED });
  else {
    table(
      doc,
      ['Recipient', 'Form', 'Status', 'Attempts', 'Last error'],
      flagCase.deliveries.map((d) => [d.recipient, d.form, `${d.status}${d.sentAt ? ` ${when(d.sentAt)}` : ''}`, String(d.attempts), d.lastError ?? '']),
      [0.3, 0.12, 0.2, 0.1, 0.28],
    );
  }

  heading(doc, 'Outcome history');
  if (flagCase.reviews.length === 0) paragraph(doc, 'No outcome recorded yet.', { color: MUTED });
  else {
    table(
      doc,
      ['When', 'Reviewer', 'Outcome', 'Note'],
      flagCase.reviews.map((r) => [when(r.createdAt), r.reviewer, `${STATUS_LABELS[r.fromStatus]} -> ${STATUS_LABELS[r.status]}${r.escalatedTo.length > 0 ? ` (to ${r.escalatedTo.map((t) => ESCALATION_LABELS[t]).join(', ')})` : ''}`, r.note]),
      [0.2, 0.15, 0.25, 0.4],
    );
  }

  heading(doc, 'Audit trail');
  table(
    doc,
    ['When', 'Who', 'Action', 'Details'],
    flagCase.audit.map((a) => [when(a.at), `${a.actor}${a.role ? ` (${a.role})` : ''}`, a.action, Object.keys(a.details).length > 0 ? JSON.stringify(a.details) : '']),
    [0.2, 0.22, 0.18, 0.4],
  );

  footer(doc, flagCase, timeZone);
  doc.end();
  return done;
}
