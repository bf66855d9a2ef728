import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { findExtractor, type ExtractResult, type ExtractedText } from '../../src/scan/parse/attachments.js';
import { createDocumentExtractor, DOCUMENT_LIMITS, type DocumentLimits } from '../../src/scan/parse/documents/index.js';
import { pageLines } from '../../src/scan/parse/documents/pdf.js';
import { classifyFormat, serialToText } from '../../src/scan/parse/documents/xlsx.js';
import { parseMail } from '../../src/scan/parse/parse.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { ScanPool } from '../../src/scan/pool.js';
import {
  cfb,
  docx,
  encryptedPdf,
  odf,
  patchZipEntry,
  pdf,
  pptx,
  slideTable,
  slideText,
  wordParagraph,
  wordTable,
  xlsx,
  zip,
  type SheetCell,
} from '../helpers/documents.js';

async function extract(
  bytes: Uint8Array,
  options: { maxTextChars?: number; limits?: Partial<DocumentLimits>; filename?: string } = {},
): Promise<ExtractResult> {
  const extractor = createDocumentExtractor({ ...DOCUMENT_LIMITS, ...options.limits });
  return extractor.extract(
    { bytes, contentType: 'application/octet-stream', filename: options.filename ?? 'file.bin' },
    {
      maxTextChars: options.maxTextChars ?? 2_000_000,
      parseMessage: () => Promise.reject(new Error('not expected')),
    },
  );
}

function extracted(result: ExtractResult): ExtractedText {
  if ('skipped' in result) throw new Error(`skipped: ${result.skipped}`);
  return result;
}

async function textOf(bytes: Uint8Array): Promise<string> {
  const result = extracted(await extract(bytes));
  expect(result.problems).toEqual([]);
  return result.text;
}

describe('xlsx', () => {
  it('writes each sheet as its name, then its header row and rows with TAB-separated cells', async () => {
    const book = xlsx([
      {
        name: 'Year 7',
        file: 'sheet9.xml',
        rows: [
          ['Name', 'UPN', 'DOB', 'Phone', 'Enrolled', 'Score', 'FSM'],
          ['Amy "AJ" Smith', { inline: 'A123456789012' }, { n: 40210, format: 'date' }, { n: 7700900123, format: 'padded' }, { n: 45170.5, format: 'datetime' }, 0.30000000000000004, true],
          [],
          ['Bo Li', 'B123456789012', { n: 40636, format: 'builtin-date' }, null, null, 3, false],
        ],
      },
      { name: 'Staff (hidden)', hidden: true, rows: [[null, 'Role', 'Name'], [null, 'Head', 'Mrs Jones\nBSc']] },
      { name: 'Empty', rows: [] },
    ]);
    expect(await textOf(book)).toBe(
      [
        'Year 7',
        'Name\tUPN\tDOB\tPhone\tEnrolled\tScore\tFSM',
        '"Amy ""AJ"" Smith"\tA123456789012\t01/02/2010\t07700900123\t01/09/2023 12:00\t0.3\tTRUE',
        'Bo Li\tB123456789012\t03/04/2011\t\t\t3\tFALSE',
        '',
        'Staff (hidden)',
        'Role\tName',
        'Head\tMrs Jones BSc',
      ].join('\n'),
    );
  });

  it('reads sheets in workbook order, not by part name', async () => {
    const book = xlsx([
      { name: 'Second file', file: 'sheet2.xml', rows: [['b']] },
      { name: 'First file', file: 'sheet1.xml', rows: [['a']] },
    ]);
    expect(await textOf(book)).toBe('Second file\nb\n\nFirst file\na');
  });

  it('counts 1904-based dates from 1904', async () => {
    const book = xlsx([{ name: 'S', rows: [['DOB'], [{ n: 0, format: 'date' }]] }], { date1904: true });
    expect(await textOf(book)).toBe('S\nDOB\n01/01/1904');
  });

  it('converts serial numbers and recognises date, time and padded formats', () => {
    expect(serialToText(1, false, 'date')).toBe('01/01/1900');
    expect(serialToText(61, false, 'date')).toBe('01/03/1900');
    expect(serialToText(44927.75, false, 'datetime')).toBe('01/01/2023 18:00');
    expect(serialToText(0.5, false, 'time')).toBe('12:00');
    expect(serialToText(-1, false, 'date')).toBeUndefined();
    expect(classifyFormat('dd/mm/yyyy')).toEqual({ kind: 'date' });
    expect(classifyFormat('[$-F800]dddd\\,\\ mmmm\\ dd\\,\\ yyyy')).toEqual({ kind: 'date' });
    expect(classifyFormat('h:mm AM/PM')).toEqual({ kind: 'time' });
    expect(classifyFormat('00000')).toEqual({ kind: 'pad', digits: 5 });
    expect(classifyFormat('#,##0.00;[Red]-#,##0.00')).toBeUndefined();
    expect(classifyFormat('"Day "0')).toBeUndefined();
  });
});

describe('docx', () => {
  it('keeps paragraphs and tables in document order, tables as TAB-separated rows under their header', async () => {
    const body =
      wordParagraph('Trip to the farm') +
      '<w:p><w:r><w:t>Dear parents,</w:t><w:tab/><w:t>please read</w:t><w:br/><w:t>below.</w:t></w:r></w:p>' +
      wordTable([
        ['Name', 'DOB', 'Medical'],
        ['Amy Smith', '01/02/2010', 'Asthma'],
        ['Bo Li', ['03/04/2011 (no needs)', 2]],
      ]) +
      // A text box is written twice, for new and old readers: only the first is text.
      '<w:p><w:r><mc:AlternateContent><mc:Choice><w:txbxContent>' +
      wordParagraph('In a text box') +
      '</w:txbxContent></mc:Choice><mc:Fallback><w:txbxContent>' +
      wordParagraph('In a text box') +
      '</w:txbxContent></mc:Fallback></mc:AlternateContent></w:r></w:p>' +
      '<w:p><w:r><w:instrText>MERGEFIELD x</w:instrText><w:delText>deleted</w:delText><w:t>Kind regards</w:t></w:r></w:p>';
    const doc = docx(body, { header: wordParagraph('Oakfield Primary'), comments: wordParagraph('Check DOB with office') });
    expect(await textOf(doc)).toBe(
      [
        'Trip to the farm',
        'Dear parents,\tplease read',
        'below.',
        '',
        'Name\tDOB\tMedical',
        'Amy Smith\t01/02/2010\tAsthma',
        'Bo Li\t03/04/2011 (no needs)\t',
        '',
        'In a text box',
        'Kind regards',
        '',
        'Oakfield Primary',
        '',
        'Check DOB with office',
      ].join('\n'),
    );
  });

  it('keeps a table nested in a cell inside that cell', async () => {
    const inner = wordTable([['x', 'y']]);
    const doc = docx(`<w:tbl><w:tr><w:tc>${wordParagraph('a')}${inner}</w:tc><w:tc>${wordParagraph('b')}</w:tc></w:tr></w:tbl>`);
    expect(await textOf(doc)).toBe('a x y\tb');
  });
});

describe('pptx and OpenDocument', () => {
  it('reads slides in presentation order, with tables and speaker notes', async () => {
    const deck = pptx([
      { shapes: slideText('Welcome', 'Year 9 options'), notes: 'Mention Jo' },
      { shapes: slideTable([['Name', 'Form'], ['Amy', '9B']]) },
    ]);
    expect(await textOf(deck)).toBe('Welcome\nYear 9 options\n\nMention Jo\n\nName\tForm\nAmy\t9B');
  });

  it('reads an OpenDocument spreadsheet, expanding repeated cells but not trailing empty ones', async () => {
    const cell = (text: string, repeat = 1) =>
      `<table:table-cell${repeat > 1 ? ` table:number-columns-repeated="${repeat}"` : ''}><text:p>${text}</text:p></table:table-cell>`;
    const empty = (repeat: number) => `<table:table-cell table:number-columns-repeated="${repeat}"/>`;
    const row = (cells: string, repeat = 1) =>
      `<table:table-row${repeat > 1 ? ` table:number-rows-repeated="${repeat}"` : ''}>${cells}</table:table-row>`;
    const body =
      '<table:table table:name="Class 3">' +
      row(cell('Name') + empty(1) + cell('DOB') + empty(16000)) +
      row(cell('Amy') + empty(1) + cell('01/02/2010') + empty(16000)) +
      row(cell('n/a', 2) + cell('x') + empty(16000), 2) +
      row(empty(16384), 1_048_000) +
      '</table:table>' +
      '<table:table table:name="Notes"><office:annotation><text:p>a comment</text:p></office:annotation>' +
      row(cell('Hello<text:s text:c="2"/>there<text:tab/>you')) +
      '</table:table>';
    expect(await textOf(odf('spreadsheet', body))).toBe(
      'Class 3\nName\t\tDOB\nAmy\t\t01/02/2010\nn/a\tn/a\tx\nn/a\tn/a\tx\n\nNotes\nHello  there you',
    );
  });

  it('reads OpenDocument text', async () => {
    const body = '<text:h>Letter</text:h><text:p>Dear <text:span>parent</text:span>,<text:line-break/>hello</text:p>';
    expect(await textOf(odf('text', body))).toBe('Letter\nDear parent,\nhello');
  });
});

describe('pdf', () => {
  it('reads the text of each page, table columns separated by TABs', async () => {
    const file = pdf([
      ['Class list', ['Name', 'UPN', 'DOB'], ['Amy Smith', 'A123456789012', '01/02/2010'], ['Bo Li', 'B123456789012', '03/04/2011']],
      ['Page two'],
    ]);
    expect(await textOf(file)).toBe(
      'Class list\nName\tUPN\tDOB\nAmy Smith\tA123456789012\t01/02/2010\nBo Li\tB123456789012\t03/04/2011\n\nPage two',
    );
  });

  it('turns only wide gaps into TABs', () => {
    const item = (str: string, width: number, height: number, hasEOL = false) => ({ str, width, height, hasEOL, dir: 'ltr', transform: [], fontName: 'F' });
    const items = [item('Name', 20, 10), item(' ', 3, 0), item('and', 15, 10), item(' ', 100, 0), item('UPN', 20, 10, true), { type: 'beginMarkedContent' }, item('x', 5, 10)];
    expect(pageLines(items)).toEqual(['Name and\tUPN', 'x']);
  });

  it('reads only the first pages of a long PDF, and says so', async () => {
    const result = extracted(await extract(pdf([['one'], ['two'], ['three']]), { limits: { maxPdfPages: 2 } }));
    expect(result.text).toBe('one\n\ntwo');
    expect(result.problems).toEqual(['only the first 2 of 3 pages read']);
  });

  it('stops at the text limit with the page it reached', async () => {
    const result = extracted(await extract(pdf([['a'.repeat(30)], ['b'.repeat(30)], ['c']]), { maxTextChars: 40 }));
    expect(result.text).toBe(`${'a'.repeat(30)}\n\n${'b'.repeat(8)}`);
    expect(result.problems).toEqual(['text cut to 40 characters for scanning at page 2 of 3']);
  });

  it('reports a PDF without a text layer', async () => {
    expect(await extract(pdf([[]]))).toEqual({ skipped: 'no text in the PDF (a scanned or image-only document?)', problems: [] });
  });
});

describe('limits', () => {
  /** Names as shared strings, or inline so that the sheet part holds the bulk of the XML. */
  const bigSheet = (rows: number, inline = false): SheetCell[][] => [
    ['Name', 'UPN', 'DOB'],
    ...Array.from({ length: rows }, (_, i): SheetCell[] => [
      inline ? { inline: `Pupil ${i}` } : `Pupil ${i}`,
      { inline: `A${String(i).padStart(12, '0')}` },
      { n: 40000 + i, format: 'date' },
    ]),
  ];

  it('cuts a huge sheet at the text limit, header first, and says where', async () => {
    const result = extracted(await extract(xlsx([{ name: 'Pupils', rows: bigSheet(5000) }, { name: 'More', rows: [['x']] }]), { maxTextChars: 5000 }));
    expect(result.text).toHaveLength(5000);
    expect(result.text.startsWith('Pupils\nName\tUPN\tDOB\nPupil 0\tA000000000000\t06/07/2009\n')).toBe(true);
    expect(result.problems).toHaveLength(2);
    expect(result.problems[0]).toMatch(/^text cut to 5,000 characters for scanning in sheet "Pupils" row \d{3}$/);
    expect(result.problems[1]).toBe('1 sheet not read');
  });

  it('stops unpacking at the unpacked-bytes limit and keeps what it read', async () => {
    const result = extracted(await extract(xlsx([{ name: 'Pupils', rows: bigSheet(20_000, true) }]), { limits: { maxUnpackedBytes: 256 * 1024 } }));
    expect(result.text.startsWith('Pupils\nName\tUPN\tDOB\nPupil 0\t')).toBe(true);
    expect(result.text).not.toContain('Pupil 19999');
    expect(result.problems).toEqual([expect.stringMatching(/^stopped after 256 KiB of unpacked XML in sheet "Pupils" row [\d,]+; the rest not read$/)]);
  });

  it('does not open a zip whose entries declare more than the limit (a zip bomb)', async () => {
    const bomb = patchZipEntry(xlsx([{ name: 'S', rows: [['a']] }]), 'xl/worksheets/sheet1.xml', { size: 0xfffffff0 });
    expect(await extract(bomb)).toEqual({ skipped: 'declares more than 512 MiB unpacked; not opened', problems: [] });
  });

  it('does not open a zip of more files than the limit', async () => {
    const files = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}.xml`, '<x/>']));
    expect(await extract(zip(files), { limits: { maxZipEntries: 10 } })).toEqual({ skipped: 'more than 10 files inside; not opened', problems: [] });
  });

  it('fails an entry that unpacks to more than it declared, keeping the rows read before', async () => {
    const book = xlsx([{ name: 'S', rows: bigSheet(2000, true) }]);
    const liar = patchZipEntry(book, 'xl/worksheets/sheet1.xml', { size: 100 });
    expect(await extract(liar)).toMatchObject({ skipped: expect.stringMatching(/^unreadable: damaged file \(too many bytes in the stream/) });
    const partial = extracted(await extract(patchZipEntry(book, 'xl/worksheets/sheet1.xml', { size: 50_000 })));
    expect(partial.text).toMatch(/^S\nName\tUPN\tDOB\nPupil 0\tA000000000000\t06\/07\/2009\n/);
    expect(partial.text).not.toContain('Pupil 1999');
    expect(partial.problems).toEqual([expect.stringMatching(/^stopped at damaged data \(too many bytes in the stream/)]);
  });

  it('reads at most maxColumns cells of a row', async () => {
    const row: SheetCell[] = Array.from({ length: 30 }, (_, i) => `c${i}`);
    const result = extracted(await extract(xlsx([{ name: 'Wide', rows: [row] }]), { limits: { maxColumns: 5 } }));
    expect(result.text).toBe('Wide\nc0\tc1\tc2\tc3\tc4');
    expect(result.problems).toEqual(['table columns after the first 5 not read']);
  });

  it('stops at the text limit inside a document with rows repeated a million times', async () => {
    const body =
      '<table:table table:name="S"><table:table-row table:number-rows-repeated="1000000">' +
      '<table:table-cell><text:p>same</text:p></table:table-cell></table:table-row></table:table>';
    const started = performance.now();
    const result = extracted(await extract(odf('spreadsheet', body), { maxTextChars: 1000 }));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result.text).toHaveLength(1000);
    expect(result.problems).toEqual(['text cut to 1,000 characters for scanning']);
  });
});

describe('encrypted, legacy and damaged files', () => {
  it('reports a password-protected Office file (an encrypted package in a CFB container)', async () => {
    expect(await extract(cfb(['EncryptionInfo', 'EncryptedPackage', '\u0006DataSpaces']))).toEqual({ skipped: 'encrypted', problems: [] });
  });

  it('reports a password-protected PDF', async () => {
    expect(await extract(encryptedPdf())).toEqual({ skipped: 'encrypted', problems: [] });
  });

  it('reports a password-protected OpenDocument file and an encrypted zip entry', async () => {
    expect(await extract(odf('text', '<text:p>x</text:p>', { encrypted: true }))).toEqual({ skipped: 'encrypted', problems: [] });
    const locked = patchZipEntry(docx(wordParagraph('x')), 'word/document.xml', { encrypted: true });
    expect(await extract(locked)).toEqual({ skipped: 'encrypted', problems: [] });
  });

  it('names the legacy binary format it does not read', async () => {
    expect(await extract(cfb(['WordDocument', '1Table']))).toEqual({
      skipped: 'legacy Word 97-2003 document (.doc); no text extractor',
      problems: [],
    });
    expect(await extract(cfb(['Workbook']))).toEqual({ skipped: 'legacy Excel 97-2003 workbook (.xls); no text extractor', problems: [] });
    // The name only counts as a directory entry, not as text inside a stream.
    const mention = cfb(['WordDocument']);
    const withText = new Uint8Array([...mention, ...Buffer.from('EncryptedPackage', 'utf16le')]);
    expect(await extract(withText)).toMatchObject({ skipped: 'legacy Word 97-2003 document (.doc); no text extractor' });
  });

  it('reports damaged files as unreadable', async () => {
    const book = xlsx([{ name: 'S', rows: [['a']] }]);
    expect(await extract(book.subarray(0, book.length - 30))).toEqual({
      skipped: 'unreadable: damaged zip (End of central directory record signature not found)',
      problems: [],
    });
    expect(await extract(new Uint8Array(Buffer.from('%PDF-1.7\n1 0 obj garbage')))).toMatchObject({ skipped: expect.stringMatching(/^unreadable: damaged PDF/) });
    expect(await extract(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]))).toEqual({
      skipped: 'unreadable: not a PDF, Office or OpenDocument file',
      problems: [],
    });
    expect(await extract(zip({ 'notes.txt': 'hello' }))).toEqual({
      skipped: 'unreadable: a zip archive, not an Office or OpenDocument file',
      problems: [],
    });
  });

  it('reads text saved under an Office name as what it is', async () => {
    const tsv = extracted(await extract(new Uint8Array(Buffer.from('Name\tDOB\nJo\t01/02/2010\n'))));
    expect(tsv).toEqual({ text: 'Name\tDOB\nJo\t01/02/2010\n', quoted: [], problems: ['a text file with an Office or PDF name; read as text'] });
    const html = extracted(await extract(new Uint8Array(Buffer.from('<html><table><tr><td>Name</td><td>DOB</td></tr></table></html>'))));
    expect(html.text).toBe('Name | DOB');
  });
});

describe('choosing the extractor', () => {
  it('goes by content type, then by extension for generic types', () => {
    const name = (type: string, filename?: string) => findExtractor(type, filename)?.name;
    expect(name('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')).toBe('documents');
    expect(name('application/pdf')).toBe('documents');
    expect(name('application/octet-stream', 'Pupils.XLSX')).toBe('documents');
    expect(name('application/octet-stream', 'minutes.odt')).toBe('documents');
    expect(name('application/vnd.ms-excel', 'old.xls')).toBe('documents');
    // Windows sends CSV as application/vnd.ms-excel: it must stay text.
    expect(name('application/vnd.ms-excel', 'list.csv')).toBe('text');
    expect(name('image/png', 'photo.pdf')).toBeUndefined();
  });
});

/** A message with one base64 attachment. */
function mailWith(bytes: Uint8Array, contentType: string, filename: string, from = 'k.patel@staff.oakfield.sch.uk', to = 'parent@gmail.com'): Buffer {
  const base64 = (Buffer.from(bytes).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
  return Buffer.from(
    [
      `From: ${from}`,
      `To: ${to}`,
      'Subject: list',
      'Message-ID: <doc@oakfield.sch.uk>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'See attached.',
      '--b',
      `Content-Type: ${contentType}; name="${filename}"`,
      `Content-Disposition: attachment; filename="${filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
      base64,
      '--b--',
      '',
    ].join('\r\n'),
    'utf8',
  );
}

describe('through the mail pipeline', () => {
  const LIMITS = { maxTextChars: 2_000_000, maxHtmlChars: 5_000_000, maxAttachmentBytes: 10 * 1024 * 1024, maxAttachments: 10, maxDepth: 3 };

  it('extracts an xlsx sent as application/octet-stream, and lists an encrypted one as not scanned', async () => {
    const book = xlsx([{ name: 'Pupils', rows: [['Name', 'DOB'], ['Amy', { n: 40210, format: 'date' }]] }]);
    const mail = await parseMail(mailWith(book, 'application/octet-stream', 'pupils.xlsx'), LIMITS);
    expect(mail.texts.find((t) => t.field === 'attachment:0')).toEqual({
      field: 'attachment:0',
      text: 'Pupils\nName\tDOB\nAmy\t01/02/2010',
      quoted: [],
      label: 'pupils.xlsx',
    });
    const locked = await parseMail(mailWith(cfb(['EncryptedPackage']), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'p.xlsx'), LIMITS);
    expect(locked.attachments).toEqual([
      { filename: 'p.xlsx', contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', size: 1024, skipped: 'encrypted' },
    ]);
    expect(locked.problems).toEqual([]);
  });

  const config = parseConfig(
    'test/parse/kestrel.yaml',
    'trust:\n  domains: [oakfield.sch.uk]\n  staff: ["*@staff.oakfield.sch.uk"]\nbuiltinLexicons: false\nlexicons: [../fixtures/lexicons]\n',
  );

  it('scans an xlsx attachment: lexicon and personal-data findings point into attachment:0', async () => {
    const book = xlsx([
      {
        name: 'Medical',
        rows: [
          ['Name', 'Form', 'NHS number', 'Notes'],
          ['Chloe Johnson', '10B', '943 476 5919', 'honestly i just want to kill myself tonight'],
          ['Ava Wood', '7A', '999 020 8409', ''],
        ],
      },
    ]);
    const report = await createScanner(config).scan(mailWith(book, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'medical.xlsx'));
    const fields = (rule: string) => report.findings.find((f) => f.rule === rule)?.evidence.map((e) => e.field);
    expect(fields('self_harm.intent')).toEqual(['attachment:0']);
    expect(fields('personal_data.nhs_number')?.[0]).toBe('attachment:0');
    expect(report.attachmentsNotScanned).toBeUndefined();
  });

  it('reads a PDF and survives a damaged workbook inside a worker thread', async () => {
    const pool = new ScanPool({ config, threads: 1 });
    try {
      const flagged = await pool.scan(mailWith(pdf([['Note from Jo'], ['honestly i just want to kill myself tonight']]), 'application/pdf', 'note.pdf'));
      expect(flagged.findings.find((f) => f.rule === 'self_harm.intent')?.evidence.map((e) => e.field)).toEqual(['attachment:0']);
      const book = xlsx([{ name: 'S', rows: [['a']] }]);
      const damaged = await pool.scan(mailWith(book.subarray(0, 200), 'application/octet-stream', 'list.xlsx'));
      expect(damaged.attachmentsNotScanned).toEqual([
        { contentType: 'application/octet-stream', size: 200, reason: expect.stringMatching(/^unreadable: damaged zip/) },
      ]);
    } finally {
      await pool.close();
    }
  });
});
