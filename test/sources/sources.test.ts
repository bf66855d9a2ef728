import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { isFailure, readMessages, type RawMessage, type SourceItem } from '../../src/sources/index.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'kestrel-sources-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function collect(items: AsyncIterable<SourceItem>): Promise<SourceItem[]> {
  const all: SourceItem[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function messages(items: SourceItem[]): RawMessage[] {
  return items.filter((item): item is RawMessage => !isFailure(item));
}

async function put(relative: string, content: string | Buffer): Promise<string> {
  const path = join(root, relative);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  return path;
}

function relativeFiles(items: SourceItem[]): string[] {
  return items.map((item) => item.file.slice(root.length + 1));
}

const EML = 'From: a@example.org\nSubject: hi\n\nHello\n';

describe('single files', () => {
  it('reads an .eml file as one message with its exact bytes and no index', async () => {
    const file = await put('one.eml', EML);
    const items = await collect(readMessages([file]));
    expect(items).toEqual([{ file, raw: Buffer.from(EML) }]);
  });

  it('yields an empty file as an empty message', async () => {
    const file = await put('empty.eml', '');
    const items = await collect(readMessages([file]));
    expect(items).toEqual([{ file, raw: Buffer.alloc(0) }]);
  });

  it('reads an explicitly named file whatever its name', async () => {
    const file = await put('README.md', EML);
    const items = await collect(readMessages([file]));
    expect(messages(items).map((m) => m.raw.toString())).toEqual([EML]);
  });

  it('refuses a non-mbox file over the size limit', async () => {
    const file = await put('big.eml', 'x'.repeat(1001));
    const items = await collect(readMessages([file], { maxMessageBytes: 1000 }));
    expect(items).toEqual([{ file, error: 'message is larger than the 1,000-byte limit (1,001 bytes)' }]);
  });
});

describe('directories', () => {
  it('recurses in sorted order and skips hidden entries and corpus sidecar files', async () => {
    await put('b.eml', 'b');
    await put('a/2.eml', 'a2');
    await put('a/1.eml', 'a1');
    await put('Z.eml', 'Z');
    await put('c.txt', 'c');
    await put('README', 'readme');
    await put('README.md', 'readme');
    await put('manifest.jsonl', '{}');
    await put('labels.json', '{}');
    await put('labels.csv', 'x');
    await put('config.yaml', 'x');
    await put('gen.py', 'x');
    await put('.hidden.eml', 'hidden');
    await put('.git/objects/x.eml', 'git');
    const items = await collect(readMessages([root]));
    expect(relativeFiles(items)).toEqual(['Z.eml', 'a/1.eml', 'a/2.eml', 'b.eml', 'c.txt']);
    expect(messages(items).map((m) => m.raw.toString())).toEqual(['Z', 'a1', 'a2', 'b', 'c']);
  });

  it('reads Maildir cur and new plus Maildir++ subfolders, but not tmp or bookkeeping files', async () => {
    await put('mail/cur/1:2,S', 'seen');
    await put('mail/new/2', 'new');
    await put('mail/tmp/3', 'half-written');
    await put('mail/dovecot-uidlist', '3 V1 N4');
    await put('mail/.Sent/cur/4:2,S', 'sent');
    await mkdir(join(root, 'mail/.Sent/new'));
    await mkdir(join(root, 'mail/.Sent/tmp'));
    await put('mail/.Sent/tmp/5', 'sent half-written');
    await put('mail/.not-a-maildir/6', 'junk');
    const items = await collect(readMessages([join(root, 'mail')]));
    expect(relativeFiles(items)).toEqual(['mail/.Sent/cur/4:2,S', 'mail/cur/1:2,S', 'mail/new/2']);
    expect(items.every((item) => !isFailure(item))).toBe(true);
  });

  it('follows symlinked files but not symlinked directories', async () => {
    const target = await put('elsewhere/real.eml', 'real');
    await put('tree/own.eml', 'own');
    await symlink(target, join(root, 'tree/linked.eml'));
    await symlink(root, join(root, 'tree/loop'));
    const items = await collect(readMessages([join(root, 'tree')]));
    expect(relativeFiles(items)).toEqual(['tree/linked.eml', 'tree/own.eml']);
    expect(messages(items).map((m) => m.raw.toString())).toEqual(['real', 'own']);
  });

  it('reports a dangling symlink as a failure', async () => {
    await symlink(join(root, 'gone.eml'), join(root, 'dangling.eml'));
    const items = await collect(readMessages([root]));
    expect(items).toEqual([{ file: join(root, 'dangling.eml'), error: 'no such file or directory' }]);
  });
});

const MBOX_LF = [
  'From alice@example.org Mon Jan  1 00:00:00 2024',
  'From: alice@example.org',
  'Subject: one',
  '',
  '>From the start of a line',
  '>>From is quoted once more',
  'Not a separator:',
  'From here, because no blank line precedes it',
  '',
  'From bob@example.org Mon Jan  1 00:00:01 2024',
  'From: bob@example.org',
  'Subject: two',
  '',
  'Body two',
  '',
  'From carol@example.org Mon Jan  1 00:00:02 2024',
  'From: carol@example.org',
  'Subject: three',
  '',
  'Body three',
  '',
].join('\n');

const EXPECTED_LF = [
  'From: alice@example.org\nSubject: one\n\nFrom the start of a line\n>From is quoted once more\nNot a separator:\nFrom here, because no blank line precedes it\n',
  'From: bob@example.org\nSubject: two\n\nBody two\n',
  'From: carol@example.org\nSubject: three\n\nBody three\n',
];

describe('mbox files', () => {
  it('splits on envelopes, strips them and the separating blank line, and un-escapes >From', async () => {
    const file = await put('box.mbox', MBOX_LF);
    const items = await collect(readMessages([file]));
    expect(items.map((item) => ('index' in item ? item.index : undefined))).toEqual([1, 2, 3]);
    expect(messages(items).map((m) => m.raw.toString())).toEqual(EXPECTED_LF);
    expect(items.every((item) => item.file === file)).toBe(true);
  });

  it('handles CRLF line endings, keeping them in the message', async () => {
    const file = await put('crlf.mbox', MBOX_LF.replace(/\n/g, '\r\n'));
    const items = await collect(readMessages([file]));
    expect(messages(items).map((m) => m.raw.toString())).toEqual(EXPECTED_LF.map((text) => text.replace(/\n/g, '\r\n')));
  });

  it('preserves non-UTF-8 bytes exactly', async () => {
    const body = Buffer.from([0x53, 0x75, 0x62, 0x3a, 0x20, 0xa3, 0xff, 0xfe, 0x80, 0x0a, 0x0a, 0xe9, 0x74, 0xe9, 0x0a]);
    const mbox = Buffer.concat([
      Buffer.from('From x@example.org Mon Jan  1 00:00:00 2024\n'),
      body,
      Buffer.from('\nFrom y@example.org Mon Jan  1 00:00:00 2024\nSubject: next\n'),
    ]);
    const file = await put('latin1.mbox', mbox);
    const items = await collect(readMessages([file]));
    const [first, second] = messages(items);
    expect(first?.raw.equals(body)).toBe(true);
    expect(second?.raw.toString()).toBe('Subject: next\n');
  });

  it('yields a failure for a message over the limit and carries on with the next', async () => {
    const bigBody = 'y'.repeat(99) + '\n'; // 100 bytes a line
    const big = `Subject: big\n\n${bigBody.repeat(50)}`; // 14 + 5000 bytes
    const mbox = `From a Mon\nSubject: small\n\nok\n\nFrom b Mon\n${big}\nFrom c Mon\nSubject: after\n\nstill here\n`;
    const file = await put('oversize.mbox', mbox);
    const items = await collect(readMessages([file], { maxMessageBytes: 1000 }));
    expect(items).toEqual([
      { file, index: 1, raw: Buffer.from('Subject: small\n\nok\n') },
      { file, index: 2, error: 'message is larger than the 1,000-byte limit (5,014 bytes)' },
      { file, index: 3, raw: Buffer.from('Subject: after\n\nstill here\n') },
    ]);
  });

  it('copes with lines far longer than a read chunk, including a long envelope line', async () => {
    const longEnvelope = `From ${'e'.repeat(300_000)}`;
    const longLine = 'L'.repeat(700_000);
    const mbox = `${longEnvelope}\nSubject: long\n\n${longLine}\n\nFrom z\n>From ${longLine}\n`;
    const file = await put('long.mbox', mbox);
    const items = await collect(readMessages([file]));
    expect(messages(items).map((m) => m.raw.toString())).toEqual([`Subject: long\n\n${longLine}\n`, `From ${longLine}\n`]);
  });
});

describe('stdin', () => {
  it('reads a single message', async () => {
    const stdin = Readable.from([Buffer.from('Subject: x\n'), Buffer.from('\nbody\n')]);
    const items = await collect(readMessages(['-'], { stdin }));
    expect(items).toEqual([{ file: '-', raw: Buffer.from('Subject: x\n\nbody\n') }]);
  });

  it('reads an mbox, even when chunks split lines and the envelope itself', async () => {
    const bytes = Buffer.from(MBOX_LF.replace(/\n/g, '\r\n'));
    const oneByteChunks = Array.from(bytes, (byte) => Buffer.from([byte]));
    const items = await collect(readMessages(['-'], { stdin: Readable.from(oneByteChunks) }));
    expect(items.map((item) => ('index' in item ? item.index : undefined))).toEqual([1, 2, 3]);
    expect(messages(items).map((m) => m.raw.toString())).toEqual(EXPECTED_LF.map((text) => text.replace(/\n/g, '\r\n')));
  });

  it('yields each mbox message as soon as it is complete, before the input ends', async () => {
    const stdin = new PassThrough();
    const iterator = readMessages(['-'], { stdin })[Symbol.asyncIterator]();
    stdin.write('From a\nSubject: first\n\nFrom b\nSubject: ');
    const first = await iterator.next();
    expect(first.value).toEqual({ file: '-', index: 1, raw: Buffer.from('Subject: first\n') });
    stdin.end('second\n');
    const second = await iterator.next();
    expect(second.value).toEqual({ file: '-', index: 2, raw: Buffer.from('Subject: second\n') });
    expect((await iterator.next()).done).toBe(true);
  });

  it('stops reading a single message that passes the limit', async () => {
    const stdin = Readable.from([Buffer.from('x'.repeat(600)), Buffer.from('x'.repeat(600)), Buffer.from('x'.repeat(600))]);
    const items = await collect(readMessages(['-'], { stdin, maxMessageBytes: 1000 }));
    expect(items).toEqual([
      { file: '-', error: 'message is larger than the 1,000-byte limit (stopped reading after 1,200 bytes)' },
    ]);
  });
});

describe('bad paths', () => {
  it('yields a failure for a missing path and goes on with the next one', async () => {
    const missing = join(root, 'missing.eml');
    const present = await put('present.eml', EML);
    const items = await collect(readMessages([missing, present]));
    expect(items).toEqual([
      { file: missing, error: 'no such file or directory' },
      { file: present, raw: Buffer.from(EML) },
    ]);
  });
});
