import { describe, expect, it } from 'vitest';
import { DANGEROUS_ATTACHMENT } from '../../src/scan/detectors/acceptable-use/index.js';
import { ARCHIVE_LIMITS, listZip } from '../../src/scan/parse/archive.js';
import { executableFormat, nameFacts } from '../../src/scan/parse/file-types.js';
import { parseMail } from '../../src/scan/parse/parse.js';
import { cfbHasMacros } from '../../src/scan/parse/documents/cfb.js';
import { cfb, docx, patchZipEntry, pdf, wordParagraph, xlsx } from '../helpers/documents.js';
import { auConfig, docxWithMacros, findingsOf, mail, PARENT, PUPIL, scan, tinyElf, tinyPe, TYPES, zipOf, type Part } from './support.js';

async function dangerous(attachments: Part[], options: { to?: string[]; from?: string } = {}) {
  const report = await scan(mail({ attachments, ...options }));
  return { report, findings: findingsOf(report, DANGEROUS_ATTACHMENT) };
}

async function only(attachments: Part[], options: { to?: string[]; from?: string } = {}) {
  const { report, findings } = await dangerous(attachments, options);
  expect(findings).toHaveLength(1);
  return { report, finding: findings[0]! };
}

const ics = [
  'BEGIN:VCALENDAR', 'VERSION:2.0', 'METHOD:REQUEST', 'BEGIN:VEVENT', 'UID:1@riverbank', 'DTSTART:20250301T090000Z',
  'SUMMARY:Year 9 parents evening', 'END:VEVENT', 'END:VCALENDAR', '',
].join('\r\n');

describe('programs and scripts attached directly', () => {
  it('reports an .exe as severe, citing the viruses clause, by position and type only', async () => {
    const { finding } = await only([{ filename: 'Amelia Jones game.exe', contentType: TYPES.exe, bytes: tinyPe() }]);
    expect(finding).toMatchObject({ rule: DANGEROUS_ATTACHMENT, category: DANGEROUS_ATTACHMENT, severity: 'severe', policy: '000_84beb20efc1da5e6.txt 11.1' });
    expect(finding.evidence[0]).toMatchObject({ field: 'attachment:0', start: 0, end: 0 });
    expect(finding.evidence[0]!.excerpt).toBe('attachment 1 of 1: a program (Windows PE header) named .exe');
    expect(JSON.stringify(finding)).not.toMatch(/amelia|jones|game/i);
  });

  it.each([
    ['report.pdf.exe', 'double extension (.pdf.exe)'],
    ['report.pdf                              .exe', 'behind blank space'],
    ['Year 9 photo\u202Egpj.scr', 'right-to-left override'],
    ['invoice.PDF.vbs', 'double extension (.pdf.vbs)'],
    ['setup.exe. . ', 'an executable (.exe)'],
  ])('reports %j as a disguised or plain program: %s', async (filename, phrase) => {
    const { finding } = await only([{ filename, contentType: TYPES.octet, bytes: 'MsgBox "hi"' }]);
    expect(finding.severity).toBe('severe');
    expect(finding.evidence[0]!.match).toContain(phrase);
    expect(finding.evidence[0]!.excerpt).not.toMatch(/report|photo|invoice|setup/i);
  });

  it.each([['.js'], ['.hta'], ['.ps1'], ['.lnk'], ['.iso'], ['.jar'], ['.bat']])('reports a %s attachment as severe', async (ext) => {
    const { finding } = await only([{ filename: `homework${ext}`, contentType: TYPES.octet, bytes: 'x = 1' }]);
    expect(finding.severity).toBe('severe');
    expect(finding.evidence[0]!.match).toContain(`(${ext})`);
  });
});

describe('content that contradicts its label', () => {
  it('reports a PE program sent as a PDF', async () => {
    const { finding } = await only([{ filename: 'invoice.pdf', contentType: TYPES.pdf, bytes: tinyPe() }]);
    expect(finding.severity).toBe('severe');
    expect(finding.evidence[0]!.match).toBe('a program (Windows PE header) labelled as a .pdf file');
  });

  it('reports an ELF program sent as an image with no name, by its MIME type', async () => {
    const { finding } = await only([{ contentType: TYPES.png, bytes: tinyElf() }]);
    expect(finding.evidence[0]!.match).toBe('a program (Linux ELF header) labelled as image/png');
  });

  it('does not take text that starts with "MZ" for a program', async () => {
    const text = `MZ Lesson plan\n${'and more words '.repeat(20)}`;
    expect(executableFormat(new TextEncoder().encode(text))).toBeUndefined();
    const { findings } = await dangerous([{ filename: 'plan.txt', contentType: 'text/plain', bytes: text }]);
    expect(findings).toEqual([]);
  });

  it('reads Mach-O and tells a universal binary from a Java class file', () => {
    const macho = new Uint8Array(64);
    macho.set([0xcf, 0xfa, 0xed, 0xfe]);
    expect(executableFormat(macho)).toBe('mach-o');
    const fat = new Uint8Array(64);
    fat.set([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2]);
    expect(executableFormat(fat)).toBe('mach-o');
    const javaClass = new Uint8Array(64);
    javaClass.set([0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 61]);
    expect(executableFormat(javaClass)).toBeUndefined();
  });
});

describe('macros', () => {
  it('reports a .docm as moderate, and severe when a pupil receives it', async () => {
    const part = { filename: 'Minutes.docm', contentType: TYPES.docm, bytes: docxWithMacros() };
    expect((await only([part])).finding.severity).toBe('moderate');
    const toPupil = (await only([part], { to: [PUPIL] })).finding;
    expect(toPupil.severity).toBe('severe');
    expect(toPupil.description).toContain('a recipient is a pupil');
  });

  it('reports a vbaProject.bin in an Office file named .docx', async () => {
    const { report, finding } = await only([{ filename: 'Minutes.docx', contentType: TYPES.docx, bytes: docxWithMacros() }]);
    expect(finding.severity).toBe('moderate');
    expect(finding.evidence[0]!.match).toBe('an Office document with macros (vbaProject.bin in a .docx file)');
    // Its text is still extracted: the check adds to the scan, it does not replace it.
    expect(report.attachmentsNotScanned).toBeUndefined();
  });

  it('reports a legacy .doc with a Macros/VBA storage, not one without', async () => {
    const withMacros = cfb(['WordDocument', 'Macros', 'VBA', '_VBA_PROJECT']);
    const without = cfb(['WordDocument', '1Table']);
    expect(cfbHasMacros(withMacros)).toBe(true);
    expect(cfbHasMacros(without)).toBe(false);
    const { finding } = await only([{ filename: 'old.doc', contentType: TYPES.doc, bytes: withMacros }]);
    expect(finding.evidence[0]!.match).toBe('a legacy Office document with VBA macros (.doc)');
    expect((await dangerous([{ filename: 'old.doc', contentType: TYPES.doc, bytes: without }])).findings).toEqual([]);
  });

  it('does not take the letters "VBA" in a document for a VBA storage', () => {
    const bytes = Buffer.from(cfb(['WordDocument']));
    // The name written into the middle of a directory entry, not at its start.
    bytes.write('VBA', 512 + 128 + 10, 'utf16le');
    expect(cfbHasMacros(new Uint8Array(bytes))).toBe(false);
  });
});

describe('archives', () => {
  it('reports an .exe inside a zip as severe, without its name', async () => {
    const archive = zipOf({ 'Homework/Amelia Jones.pdf': pdf([['essay']]), 'Homework/Amelia Jones essay.exe': tinyPe() });
    const { finding } = await only([{ filename: 'Amelia homework.zip', contentType: TYPES.zip, bytes: archive }]);
    expect(finding.severity).toBe('severe');
    expect(finding.evidence[0]!.excerpt).toBe('attachment 1 of 1: an executable (.exe) inside a zip');
    expect(JSON.stringify(finding)).not.toMatch(/amelia|jones|homework/i);
  });

  it('opens zips nested one and two levels, and stops at the third with a problem', async () => {
    const level3 = zipOf({ 'deep.scr': 'x' });
    const level2 = zipOf({ 'inner.zip': level3, 'run.lnk': 'x' });
    const level1 = zipOf({ 'middle.zip': level2 });
    const { report, finding } = await only([{ filename: 'pack.zip', contentType: TYPES.zip, bytes: zipOf({ 'outer.zip': level1 }) }]);
    expect(finding.evidence.map((e) => e.match)).toEqual(['an executable (.lnk) inside zips nested 3 deep']);
    expect(report.problems).toContain('attachment:0: zips nested more than 2 levels deep; not opened');

    const twoDeep = await only([{ filename: 'pack.zip', contentType: TYPES.zip, bytes: level1 }]);
    expect(twoDeep.finding.evidence.map((e) => e.match).sort()).toEqual([
      'an executable (.lnk) inside a zip inside a zip',
      'an executable (.scr) inside zips nested 3 deep',
    ]);
  });

  it('reads the names of encrypted entries', async () => {
    const archive = patchZipEntry(zipOf({ 'invoice.pdf.exe': tinyPe(), 'readme.txt': 'password: 1234' }), 'invoice.pdf.exe', { encrypted: true });
    const { finding } = await only([{ filename: 'invoice.zip', contentType: TYPES.zip, bytes: archive }]);
    expect(finding.severity).toBe('severe');
    expect(finding.evidence[0]!.match).toBe('an encrypted entry named as an executable with a disguised name (.exe) inside a zip');
  });

  it('reports a lone script in a zip as moderate, severe to a pupil; a macro workbook in a zip as moderate', async () => {
    const archive = zipOf({ 'Invoice 0423.js': 'WScript.Shell', 'prices.xlsm': 'x' });
    const { finding } = await only([{ filename: 'invoice.zip', contentType: TYPES.zip, bytes: archive }], { from: PARENT });
    expect(finding.severity).toBe('moderate');
    expect(finding.evidence.map((e) => e.match)).toEqual([
      'a script (.js) inside a zip',
      'an Office document with macros (.xlsm) inside a zip',
    ]);
    expect((await only([{ filename: 'invoice.zip', contentType: TYPES.zip, bytes: archive }], { to: [PUPIL] })).finding.severity).toBe('severe');
  });

  // Decision: a .js beside web or source files is a coding project (pupils send these to their
  // teachers every week), and scripts under node_modules/ are a project's dependencies. A .vbs,
  // .bat or program in the same zip is still reported.
  it('leaves a school coding project zip alone, but not a .vbs hidden in one', async () => {
    const project = { 'site/index.html': '<script src="game.js"></script>', 'site/style.css': 'body{}', 'site/game.js': 'let score = 0;' };
    expect((await dangerous([{ filename: 'project.zip', contentType: TYPES.zip, bytes: zipOf(project) }])).findings).toEqual([]);
    const withModules = { 'app/node_modules/left-pad/index.js': 'x', 'app/node_modules/.bin/tsc.cmd': 'x' };
    expect((await dangerous([{ filename: 'app.zip', contentType: TYPES.zip, bytes: zipOf(withModules) }])).findings).toEqual([]);
    const { finding } = await only([{ filename: 'project.zip', contentType: TYPES.zip, bytes: zipOf({ ...project, 'site/start.vbs': 'x' }) }]);
    expect(finding.evidence.map((e) => e.match)).toEqual(['a script (.vbs) inside a zip']);
  });

  it('records a damaged zip as a problem, without failing the message', async () => {
    const archive = zipOf({ 'a.pdf': 'x' }).slice(0, 30);
    const { report, findings } = await dangerous([{ filename: 'broken.zip', contentType: TYPES.zip, bytes: archive }]);
    expect(findings).toEqual([]);
    expect(report.problems.some((p) => p.startsWith('attachment:0: damaged zip ('))).toBe(true);
  });

  it("lists a zip bomb's entries without unpacking, and does not open a nested zip that declares gigabytes", async () => {
    const bomb = patchZipEntry(zipOf({ 'a.txt': 'x', 'payload.exe': 'x' }), 'a.txt', { size: 0xfffffff0 });
    const { report, finding } = await only([{ filename: 'b.zip', contentType: TYPES.zip, bytes: bomb }]);
    expect(finding.evidence[0]!.match).toBe('an executable (.exe) inside a zip');
    expect(report.problems.some((p) => /^attachment:0: zip declares .* unpacked \(a zip bomb\?\)/.test(p))).toBe(true);

    const nestedBomb = zipOf({ 'inner.zip': patchZipEntry(zipOf({ 'x.txt': 'x' }), 'x.txt', { size: 0xfffffff0 }) });
    const outer = patchZipEntry(nestedBomb, 'inner.zip', { size: 0xfffffff0 });
    const second = await dangerous([{ filename: 'c.zip', contentType: TYPES.zip, bytes: outer }]);
    expect(second.findings).toEqual([]);
    expect(second.report.problems.some((p) => /a zip inside declares .* over the 8 MiB limit; not opened/.test(p))).toBe(true);
  });

  it('stops inflating a nested zip that unpacks to more than it declared', async () => {
    const inner = zipOf({ 'notes.txt': 'a few words', 'a.exe': 'x' });
    expect(inner.byteLength).toBeGreaterThan(128);
    const outer = patchZipEntry(zipOf({ 'inner.zip': inner }), 'inner.zip', { size: 100 });
    const listing = await listZip(outer, { ...ARCHIVE_LIMITS, maxNestedBytes: 128 });
    expect(listing.risky).toEqual([]);
    expect(listing.problems).toEqual(['a zip inside unpacks to more than 128 bytes; not opened']);
    expect(listing.partial).toBe(true);
  });

  it('stops listing at the entry limit', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`f${i}.txt`] = 'x';
    files['z.exe'] = 'x';
    const listing = await listZip(zipOf(files), { ...ARCHIVE_LIMITS, maxEntries: 20 });
    expect(listing.entries).toBe(20);
    expect(listing.partial).toBe(true);
    expect(listing.problems).toEqual(['zip listing stopped after 20 entries']);
  });

  it('inspects attachments beyond the text-extraction size limit', async () => {
    const config = auConfig('scan:\n  maxAttachmentBytes: 1KB');
    const big = zipOf({ 'filler.bin': new Uint8Array(8192).map((_, i) => (i * 7919) % 251), 'tool.exe': 'x' });
    const report = await scan(mail({ attachments: [{ filename: 'big.zip', contentType: TYPES.zip, bytes: big }] }), config);
    expect(findingsOf(report, DANGEROUS_ATTACHMENT)).toHaveLength(1);
  });
});

describe('ordinary attachments are not reported', () => {
  it.each<[string, Part]>([
    ['a PDF', { filename: 'report.pdf', contentType: TYPES.pdf, bytes: pdf([['Year 9 report']]) }],
    ['a DOCX', { filename: 'minutes.docx', contentType: TYPES.docx, bytes: docx(wordParagraph('Minutes of the meeting')) }],
    ['an XLSX without macros', { filename: 'marks.xlsx', contentType: TYPES.xlsx, bytes: xlsx([{ name: 'Marks', rows: [['Name', 'Mark'], ['A', 3]] }]) }],
    ['a zip of PDFs', { filename: 'reports.zip', contentType: TYPES.zip, bytes: zipOf({ 'a.pdf': pdf([['a']]), 'b/c.pdf': pdf([['c']]) }) }],
    ['a calendar invite', { filename: 'invite.ics', contentType: TYPES.ics, bytes: ics }],
    ['a photo', { filename: 'trip.jpg', contentType: 'image/jpeg', bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...new Array<number>(100).fill(1)]) }],
    ['a file named like a site', { filename: 'notes on example.txt', contentType: 'text/plain', bytes: 'hello' }],
  ])('%s', async (_, part) => {
    const { report, findings } = await dangerous([part]);
    expect(findings).toEqual([]);
    expect(report.problems).toEqual([]);
  });

  it('keeps risk facts small: a docx has none, a zip of PDFs only its entry count', async () => {
    const limits = { maxTextChars: 1e6, maxHtmlChars: 1e6, maxAttachmentBytes: 1e7, maxAttachments: 10, maxDepth: 3 };
    const parsed = await parseMail(
      mail({
        attachments: [
          { filename: 'm.docx', contentType: TYPES.docx, bytes: docx(wordParagraph('x')) },
          { filename: 'r.zip', contentType: TYPES.zip, bytes: zipOf({ 'a.pdf': 'x', 'b.pdf': 'y' }) },
        ],
      }),
      limits,
    );
    expect(parsed.attachments.map((a) => a.risk)).toEqual([undefined, { archive: { entries: 2, risky: [] } }]);
  });
});

describe('names', () => {
  it('reads the extension Windows acts on and how a name hides it', () => {
    expect(nameFacts('a.pdf.exe')).toEqual({ extension: 'exe', kind: 'program', disguise: { how: 'decoy', decoy: 'pdf' } });
    expect(nameFacts('a.exe  ')).toEqual({ extension: 'exe', kind: 'program' });
    expect(nameFacts('cv\u202Efdp.js')).toEqual({ extension: 'js', kind: 'script', disguise: { how: 'bidi' } });
    expect(nameFacts('notes\u3000\u3000\u3000.hta').disguise).toEqual({ how: 'padding' });
    expect(nameFacts('v1.2.docm')).toEqual({ extension: 'docm', kind: 'macro_document' });
    expect(nameFacts('photo.jpg')).toEqual({ extension: 'jpg' });
    expect(nameFacts('README')).toEqual({ extension: '' });
    expect(nameFacts('my.backup.py')).toEqual({ extension: 'py' });
  });
});
