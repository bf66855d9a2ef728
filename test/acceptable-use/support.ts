import { strToU8, unzipSync, zipSync } from 'fflate';
import { parseConfig } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import { createScanner, type Scanner, type ScanReport } from '../../src/scan/pipeline.js';
import type { Finding } from '../../src/scan/types.js';
import { docx } from '../helpers/documents.js';

export const TRUST = 'riverbank-trust.sch.uk';
export const TEACHER = `j.ward@${TRUST}`;
export const PUPIL = `22amorgan@pupils.${TRUST}`;
export const PARENT = 'jordan.b@gmail.com';

/** A trust on riverbank-trust.sch.uk with one leader; `extra` is more YAML at the top level. */
export function auConfig(extra = '', trustExtra = ''): KestrelConfig {
  return parseConfig(
    'test/acceptable-use/kestrel.yaml',
    `trust:
  domains: [${TRUST}]
  pupils: ["*@pupils.${TRUST}"]
  staff: ["*@${TRUST}"]
  leaders:
    - name: Dr Helen Carter
      addresses: [helen.carter.governor@gmail.com]
    - name: Sean O'Brien-Kelly
${trustExtra}
${extra}`,
  );
}

export interface Part {
  filename?: string;
  contentType: string;
  bytes: Uint8Array | string;
}

/** RFC 2231 for names that are not plain ASCII (bidi controls, accents). */
function filenameParam(name: string): string {
  return /^[\x20-\x7e]*$/.test(name) && !name.includes('"') ? `filename="${name}"` : `filename*=utf-8''${encodeURIComponent(name)}`;
}

export function mail(options: {
  from?: string;
  to?: string[];
  subject?: string;
  headers?: string[];
  body?: string;
  attachments?: Part[];
}): Buffer {
  const { from = TEACHER, to = [`k.patel@${TRUST}`], subject = 'hello', headers = [], body = 'Please see attached.', attachments = [] } = options;
  const head = [...headers, `From: ${from}`, `To: ${to.join(', ')}`, `Subject: ${subject}`, 'MIME-Version: 1.0'];
  if (attachments.length === 0) {
    return Buffer.from([...head, 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n'), 'utf8');
  }
  const boundary = 'b0undary-au';
  const lines = [...head, `Content-Type: multipart/mixed; boundary="${boundary}"`, '', `--${boundary}`, 'Content-Type: text/plain; charset=utf-8', '', body];
  for (const part of attachments) {
    const bytes = typeof part.bytes === 'string' ? Buffer.from(part.bytes, 'utf8') : Buffer.from(part.bytes);
    lines.push(
      `--${boundary}`,
      `Content-Type: ${part.contentType}`,
      'Content-Transfer-Encoding: base64',
      `Content-Disposition: attachment${part.filename === undefined ? '' : `; ${filenameParam(part.filename)}`}`,
      '',
      ...(bytes.toString('base64').match(/.{1,76}/g) ?? []),
    );
  }
  lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

const DEFAULT_CONFIG = auConfig();
const scanners = new Map<KestrelConfig, Scanner>();

/** Scans through the whole pipeline with the acceptable-use detector added, as pipeline.ts will. */
export async function scan(raw: Buffer, config: KestrelConfig = DEFAULT_CONFIG): Promise<ScanReport> {
  let scanner = scanners.get(config);
  if (!scanner) {
    scanner = createScanner(config);
    scanners.set(config, scanner);
  }
  return scanner.scan(raw);
}

export function findingsOf(report: ScanReport, rule: string): Finding[] {
  return report.findings.filter((f) => f.rule === rule);
}

/** The smallest bytes our sniffing (and Windows' loader's first check) reads as a PE program: MZ, e_lfanew, `PE\0\0`, a COFF header. */
export function tinyPe(): Uint8Array {
  const bytes = Buffer.alloc(256);
  bytes.write('MZ', 0, 'latin1');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('This program cannot be run in DOS mode.', 0x4e, 'latin1');
  bytes.write('PE\0\0', 0x80, 'latin1');
  bytes.writeUInt16LE(0x8664, 0x84); // machine: x64
  bytes.writeUInt16LE(0, 0x86); // sections
  return new Uint8Array(bytes);
}

export function tinyElf(): Uint8Array {
  const bytes = Buffer.alloc(128);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]).copy(bytes, 0);
  bytes.writeUInt16LE(2, 16); // ET_EXEC
  bytes.writeUInt16LE(0x3e, 18); // x86-64
  return new Uint8Array(bytes);
}

export function zipOf(files: Record<string, string | Uint8Array>): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [name, content] of Object.entries(files)) entries[name] = typeof content === 'string' ? strToU8(content) : content;
  return zipSync(entries);
}

/** A real Word package with a `word/vbaProject.bin` part added, as Word saves a .docm. */
export function docxWithMacros(): Uint8Array {
  const files = unzipSync(docx('<w:p><w:r><w:t>Minutes</w:t></w:r></w:p>'));
  files['word/vbaProject.bin'] = new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, ...new Array<number>(504).fill(0)]);
  return zipSync(files);
}

export const TYPES = {
  exe: 'application/x-msdownload',
  octet: 'application/octet-stream',
  pdf: 'application/pdf',
  zip: 'application/zip',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  docm: 'application/vnd.ms-word.document.macroenabled.12',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  doc: 'application/msword',
  png: 'image/png',
  ics: 'text/calendar; method=REQUEST',
} as const;
