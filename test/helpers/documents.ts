/**
 * Office, OpenDocument, PDF and CFB files built at test time: the smallest packages that Excel,
 * Word, PowerPoint and LibreOffice would open (the parts they require, nothing optional), so the
 * tests need no binary fixtures. fflate writes the zips.
 */
import { strToU8, zipSync, type Zippable } from 'fflate';

export function zip(files: Record<string, string | Uint8Array>): Uint8Array {
  const entries: Zippable = {};
  for (const [name, content] of Object.entries(files)) {
    // OpenDocument wants `mimetype` stored, not deflated.
    const data = typeof content === 'string' ? strToU8(content) : content;
    entries[name] = name === 'mimetype' ? [data, { level: 0 }] : data;
  }
  return zipSync(entries);
}

export function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const PKG_REL = 'http://schemas.openxmlformats.org/package/2006/relationships';

function rels(list: Array<[id: string, type: string, target: string]>): string {
  return `${XML_HEAD}<Relationships xmlns="${PKG_REL}">${list
    .map(([id, type, target]) => `<Relationship Id="${id}" Type="${REL}/${type}" Target="${target}"/>`)
    .join('')}</Relationships>`;
}

function contentTypes(overrides: Array<[part: string, type: string]>): string {
  return (
    `${XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    overrides.map(([part, type]) => `<Override PartName="${part}" ContentType="${type}"/>`).join('') +
    '</Types>'
  );
}

// ---- Excel ----

/** A numeric cell shown through a number format: a date, a date and time, or zero-padded digits. */
export interface FormattedNumber {
  n: number;
  format: 'date' | 'builtin-date' | 'datetime' | 'padded';
}

export type SheetCell = string | number | boolean | null | { inline: string } | FormattedNumber;

export interface SheetSpec {
  name: string;
  rows: SheetCell[][];
  hidden?: boolean;
  /** Part name under xl/worksheets/, to check that sheets are read in workbook order. */
  file?: string;
}

const STYLE_OF: Record<FormattedNumber['format'], number> = { date: 1, 'builtin-date': 2, datetime: 3, padded: 4 };

export function columnName(index: number): string {
  let name = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
}

export function xlsx(sheets: SheetSpec[], options: { date1904?: boolean } = {}): Uint8Array {
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const shared = (text: string): number => {
    let index = stringIndex.get(text);
    if (index === undefined) {
      index = strings.length;
      strings.push(text);
      stringIndex.set(text, index);
    }
    return index;
  };
  const cellXml = (cell: SheetCell, ref: string): string => {
    if (cell === null) return '';
    if (typeof cell === 'string') return `<c r="${ref}" t="s"><v>${shared(cell)}</v></c>`;
    if (typeof cell === 'number') return `<c r="${ref}"><v>${cell}</v></c>`;
    if (typeof cell === 'boolean') return `<c r="${ref}" t="b"><v>${cell ? 1 : 0}</v></c>`;
    if ('inline' in cell) return `<c r="${ref}" t="inlineStr"><is><t>${xml(cell.inline)}</t></is></c>`;
    return `<c r="${ref}" s="${STYLE_OF[cell.format]}"><v>${cell.n}</v></c>`;
  };
  const files: Record<string, string> = {};
  const sheetFile = (sheet: SheetSpec, i: number) => sheet.file ?? `sheet${i + 1}.xml`;
  sheets.forEach((sheet, i) => {
    const rowsXml = sheet.rows
      .map((row, r) => `<row r="${r + 1}">${row.map((cell, c) => cellXml(cell, `${columnName(c)}${r + 1}`)).join('')}</row>`)
      .join('');
    files[`xl/worksheets/${sheetFile(sheet, i)}`] =
      `${XML_HEAD}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rowsXml}</sheetData></worksheet>`;
  });
  const main = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  return zip({
    '[Content_Types].xml': contentTypes([
      ['/xl/workbook.xml', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml'],
      ['/xl/styles.xml', 'application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml'],
      ['/xl/sharedStrings.xml', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml'],
      ...sheets.map((s, i): [string, string] => [
        `/xl/worksheets/${sheetFile(s, i)}`,
        'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml',
      ]),
    ]),
    '_rels/.rels': rels([['rId1', 'officeDocument', 'xl/workbook.xml']]),
    'xl/workbook.xml':
      `${XML_HEAD}<workbook xmlns="${main}" xmlns:r="${REL}">` +
      (options.date1904 ? '<workbookPr date1904="1"/>' : '<workbookPr/>') +
      `<sheets>${sheets
        .map((s, i) => `<sheet name="${xml(s.name)}" sheetId="${i + 1}"${s.hidden ? ' state="hidden"' : ''} r:id="rIdS${i}"/>`)
        .join('')}</sheets></workbook>`,
    'xl/_rels/workbook.xml.rels': rels([
      ...sheets.map((s, i): [string, string, string] => [`rIdS${i}`, 'worksheet', `worksheets/${sheetFile(s, i)}`]),
      ['rIdStyles', 'styles', 'styles.xml'],
      ['rIdStrings', 'sharedStrings', '/xl/sharedStrings.xml'],
    ]),
    'xl/styles.xml':
      `${XML_HEAD}<styleSheet xmlns="${main}">` +
      '<numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy;@"/>' +
      '<numFmt numFmtId="165" formatCode="[$-809]dd\\ mmmm\\ yyyy\\ hh:mm"/><numFmt numFmtId="166" formatCode="00000000000"/></numFmts>' +
      '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>' +
      '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/><xf numFmtId="165"/><xf numFmtId="166"/></cellXfs>' +
      '</styleSheet>',
    'xl/sharedStrings.xml':
      `${XML_HEAD}<sst xmlns="${main}" count="${strings.length}" uniqueCount="${strings.length}">` +
      strings.map((s) => `<si><t xml:space="preserve">${xml(s)}</t></si>`).join('') +
      '</sst>',
    ...files,
  });
}

// ---- Word ----

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';

export function wordParagraph(text: string): string {
  return `<w:p><w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr><w:r><w:t xml:space="preserve">${xml(text)}</w:t></w:r></w:p>`;
}

/** A table; a cell given as [text, span] covers `span` grid columns. */
export function wordTable(rows: Array<Array<string | [string, number]>>): string {
  const cell = (c: string | [string, number]) => {
    const [text, span] = typeof c === 'string' ? [c, 1] : c;
    const props = span > 1 ? `<w:tcPr><w:gridSpan w:val="${span}"/></w:tcPr>` : '';
    return `<w:tc>${props}${wordParagraph(text)}</w:tc>`;
  };
  return `<w:tbl>${rows.map((row) => `<w:tr>${row.map(cell).join('')}</w:tr>`).join('')}</w:tbl>`;
}

export function docx(body: string, parts: { header?: string; comments?: string } = {}): Uint8Array {
  const related: Array<[string, string, string]> = [];
  const files: Record<string, string> = {};
  const overrides: Array<[string, string]> = [
    ['/word/document.xml', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml'],
  ];
  if (parts.header !== undefined) {
    related.push(['rIdH', 'header', 'header1.xml']);
    files['word/header1.xml'] = `${XML_HEAD}<w:hdr xmlns:w="${W}">${parts.header}</w:hdr>`;
  }
  if (parts.comments !== undefined) {
    related.push(['rIdC', 'comments', 'comments.xml']);
    files['word/comments.xml'] = `${XML_HEAD}<w:comments xmlns:w="${W}"><w:comment w:id="0">${parts.comments}</w:comment></w:comments>`;
  }
  return zip({
    '[Content_Types].xml': contentTypes(overrides),
    '_rels/.rels': rels([['rId1', 'officeDocument', 'word/document.xml']]),
    'word/document.xml': `${XML_HEAD}<w:document xmlns:w="${W}" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>${body}</w:body></w:document>`,
    'word/_rels/document.xml.rels': rels(related),
    ...files,
  });
}

// ---- PowerPoint ----

const A = 'http://schemas.openxmlformats.org/drawingml/2006/main';
const P = 'http://schemas.openxmlformats.org/presentationml/2006/main';

export function slideText(...paragraphs: string[]): string {
  return `<p:sp><p:txBody>${paragraphs.map((t) => `<a:p><a:r><a:t>${xml(t)}</a:t></a:r></a:p>`).join('')}</p:txBody></p:sp>`;
}

export function slideTable(rows: string[][]): string {
  const cell = (t: string) => `<a:tc><a:txBody><a:p><a:r><a:t>${xml(t)}</a:t></a:r></a:p></a:txBody></a:tc>`;
  return `<p:graphicFrame><a:graphic><a:graphicData><a:tbl>${rows.map((r) => `<a:tr>${r.map(cell).join('')}</a:tr>`).join('')}</a:tbl></a:graphicData></a:graphic></p:graphicFrame>`;
}

/** Slides in presentation order; files are numbered in reverse so that order must come from presentation.xml. */
export function pptx(slides: Array<{ shapes: string; notes?: string }>): Uint8Array {
  const files: Record<string, string> = {};
  const count = slides.length;
  slides.forEach((slide, i) => {
    const file = `slide${count - i}.xml`;
    files[`ppt/slides/${file}`] =
      `${XML_HEAD}<p:sld xmlns:a="${A}" xmlns:p="${P}"><p:cSld><p:spTree>${slide.shapes}</p:spTree></p:cSld></p:sld>`;
    if (slide.notes !== undefined) {
      files[`ppt/slides/_rels/${file}.rels`] = rels([['rIdN', 'notesSlide', `../notesSlides/notes${i}.xml`]]);
      files[`ppt/notesSlides/notes${i}.xml`] =
        `${XML_HEAD}<p:notes xmlns:a="${A}" xmlns:p="${P}"><p:cSld><p:spTree>${slideText(slide.notes)}</p:spTree></p:cSld></p:notes>`;
    }
  });
  return zip({
    '[Content_Types].xml': contentTypes([
      ['/ppt/presentation.xml', 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml'],
    ]),
    '_rels/.rels': rels([['rId1', 'officeDocument', 'ppt/presentation.xml']]),
    'ppt/presentation.xml': `${XML_HEAD}<p:presentation xmlns:p="${P}" xmlns:r="${REL}"><p:sldIdLst>${slides
      .map((_, i) => `<p:sldId id="${256 + i}" r:id="rIdP${i}"/>`)
      .join('')}</p:sldIdLst></p:presentation>`,
    'ppt/_rels/presentation.xml.rels': rels(slides.map((_, i) => [`rIdP${i}`, 'slide', `slides/slide${count - i}.xml`])),
    ...files,
  });
}

// ---- OpenDocument ----

const ODF_NS =
  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" ' +
  'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"';

/** `body` is the content of office:text or office:spreadsheet. */
export function odf(kind: 'text' | 'spreadsheet', body: string, options: { encrypted?: boolean } = {}): Uint8Array {
  const mimetype = `application/vnd.oasis.opendocument.${kind}`;
  const encryption = options.encrypted
    ? '<manifest:encryption-data manifest:checksum-type="SHA1/1K" manifest:checksum="AAAA"><manifest:algorithm manifest:algorithm-name="Blowfish CFB"/></manifest:encryption-data>'
    : '';
  return zip({
    mimetype,
    'META-INF/manifest.xml':
      `${XML_HEAD}<manifest:manifest ${ODF_NS} manifest:version="1.2">` +
      `<manifest:file-entry manifest:full-path="/" manifest:media-type="${mimetype}"/>` +
      `<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">${encryption}</manifest:file-entry>` +
      '</manifest:manifest>',
    'content.xml': `${XML_HEAD}<office:document-content ${ODF_NS} office:version="1.2"><office:body><office:${kind}>${body}</office:${kind}></office:body></office:document-content>`,
  });
}

// ---- PDF ----

/** A page: lines of text, a line given as cells being set out in columns 150pt apart. */
export type PdfPage = Array<string | string[]>;

function pdfString(text: string): string {
  return `(${text.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

/** A PDF 1.4 file with Helvetica text; `trailerExtra` adds entries to the trailer (an /Encrypt dictionary). */
export function pdf(pages: PdfPage[], trailerExtra = ''): Uint8Array {
  const objects: string[] = ['<< /Type /Catalog /Pages 2 0 R >>', '', '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'];
  const kids: number[] = [];
  for (const page of pages) {
    let content = 'BT /F1 10 Tf ';
    page.forEach((line, i) => {
      const cells = typeof line === 'string' ? [line] : line;
      cells.forEach((cell, j) => (content += `1 0 0 1 ${72 + j * 150} ${720 - i * 14} Tm ${pdfString(cell)} Tj `));
    });
    content += 'ET';
    objects.push(`<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${objects.length} 0 R >>`);
    kids.push(objects.length);
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  out += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R ${trailerExtra}>>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(out, 'latin1'));
}

/**
 * Encrypted with the standard security handler (RC4, revision 2) under a user password: the /U
 * entry does not match the empty password, so a reader must ask for one.
 */
export function encryptedPdf(): Uint8Array {
  const key = 'ab'.repeat(32);
  const id = '0123456789abcdef0123456789abcdef';
  return pdf([['secret']], `/Encrypt << /Filter /Standard /V 1 /R 2 /O <${key}> /U <${key}> /P -4 >> /ID [<${id}> <${id}>] `);
}

// ---- Compound File Binary (legacy Office, encrypted Office Open XML) ----

/**
 * A CFB header and one directory sector naming the given streams: what the sniffing reads, not a
 * container another reader could open.
 */
export function cfb(streams: string[]): Uint8Array {
  const names = ['Root Entry', ...streams];
  const sectors = Math.ceil(names.length / 4);
  const bytes = Buffer.alloc(512 + sectors * 512);
  Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(bytes, 0);
  bytes.writeUInt16LE(0x3e, 24); // minor version
  bytes.writeUInt16LE(3, 26); // major version 3: 512-byte sectors
  bytes.writeUInt16LE(0xfffe, 28); // byte order
  bytes.writeUInt16LE(9, 30); // sector shift
  bytes.writeUInt16LE(6, 32); // mini sector shift
  bytes.writeUInt32LE(0, 48); // first directory sector
  names.forEach((name, i) => {
    const at = 512 + i * 128;
    bytes.write(name, at, 'utf16le');
    bytes.writeUInt16LE((name.length + 1) * 2, at + 64);
    bytes[at + 66] = i === 0 ? 5 : 2; // root storage, then streams
  });
  return new Uint8Array(bytes);
}

// ---- Damage ----

/**
 * Rewrites, in the zip's central directory and local header, the declared unpacked size of one
 * entry (and optionally marks it encrypted), as a zip bomb or a damaged or encrypted file would.
 */
export function patchZipEntry(bytes: Uint8Array, name: string, patch: { size?: number; encrypted?: boolean }): Uint8Array {
  const out = Buffer.from(bytes);
  const nameBytes = Buffer.from(name, 'utf8');
  for (let at = out.indexOf(nameBytes); at >= 0; at = out.indexOf(nameBytes, at + 1)) {
    if (at >= 46 && out.readUInt32LE(at - 46) === 0x02014b50 && out.readUInt16LE(at - 46 + 28) === nameBytes.length) {
      const header = at - 46;
      if (patch.size !== undefined) out.writeUInt32LE(patch.size, header + 24);
      if (patch.encrypted) out.writeUInt16LE(out.readUInt16LE(header + 8) | 1, header + 8);
    } else if (at >= 30 && out.readUInt32LE(at - 30) === 0x04034b50 && out.readUInt16LE(at - 30 + 26) === nameBytes.length) {
      const header = at - 30;
      if (patch.size !== undefined) out.writeUInt32LE(patch.size, header + 22);
      if (patch.encrypted) out.writeUInt16LE(out.readUInt16LE(header + 6) | 1, header + 6);
    }
  }
  return new Uint8Array(out);
}
