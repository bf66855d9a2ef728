/** Sealed scan jobs and their ids: round trip, and clear errors for tampering or the wrong key. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FetchedMessage } from '../../src/connect/types.js';
import { JOB_FORMAT_VERSION, jobCodec, JobDecodeError, type ScanJobData } from '../../src/queue/codec.js';
import { jobIds } from '../../src/queue/job-id.js';

const KEY = randomBytes(32);
const OTHER_KEY = randomBytes(32);

const MARKER = 'quokkamarker';
const SENDER = 'quokka.sender@oakfield.sch.uk';

function fetched(overrides: Partial<FetchedMessage> = {}): FetchedMessage {
  // Every byte value, so nothing in the path assumes text.
  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const raw = Buffer.concat([Buffer.from(`From: ${SENDER}\r\nTo: k.patel@oakfield.sch.uk\r\nSubject: ${MARKER}\r\n\r\n${MARKER} body\r\n`), binary]);
  return {
    account: 'acct-quokka',
    folder: 'Quokka Sent',
    uidValidity: '9007199254740993', // beyond a double's integers: must stay a string
    uid: 42,
    role: 'sent',
    raw,
    receivedAt: '2026-11-20T09:30:00.000Z',
    envelope: { sender: SENDER, recipients: ['k.patel@oakfield.sch.uk', 'bcc.hidden@oakfield.sch.uk'] },
    skippedParts: [{ contentType: 'video/mp4', size: 31_000_000 }],
    ...overrides,
  };
}

async function decodeError(data: unknown, jobId: string, key = KEY): Promise<Error> {
  return jobCodec(key)
    .decode(data, jobId)
    .then(
      () => {
        throw new Error('decoded');
      },
      (error: Error) => error,
    );
}

describe('job codec', () => {
  it('round-trips a message with its position, envelope and skipped parts', async () => {
    const codec = jobCodec(KEY);
    const message = fetched();
    const data = await codec.encode(message, 'job-1');
    expect(data.v).toBe(JOB_FORMAT_VERSION);
    const decoded = await codec.decode(JSON.parse(JSON.stringify(data)), 'job-1');
    expect(decoded).toEqual(message);
    expect(Buffer.isBuffer(decoded.raw)).toBe(true);
    // Optional fields left out stay out.
    const bare: FetchedMessage = { account: 'a', folder: 'INBOX', uidValidity: '1', uid: 1, role: 'inbox', raw: Buffer.alloc(0) };
    expect(await codec.decode(await codec.encode(bare, 'job-2'), 'job-2')).toEqual(bare);
  });

  it('holds nothing from the message in clear, and compresses', async () => {
    const body = `${MARKER} `.repeat(5_000);
    const message = fetched({ raw: Buffer.from(`From: ${SENDER}\r\n\r\n${body}`) });
    const data = await jobCodec(KEY).encode(message, 'job-1');
    const stored = JSON.stringify(data);
    for (const clear of [MARKER, SENDER, 'acct-quokka', 'Quokka Sent', 'bcc.hidden']) expect(stored).not.toContain(clear);
    expect(Buffer.from(data.sealed, 'base64').length).toBeLessThan(message.raw.length / 10);
    // A fresh IV each time: the same message never seals to the same bytes.
    expect((await jobCodec(KEY).encode(message, 'job-1')).sealed).not.toBe(data.sealed);
  });

  it('refuses altered data, naming the job', async () => {
    const data = await jobCodec(KEY).encode(fetched(), 'job-7');
    const sealed = Buffer.from(data.sealed, 'base64');
    sealed[sealed.length >> 1]! ^= 0x01;
    const error = await decodeError({ ...data, sealed: sealed.toString('base64') }, 'job-7');
    expect(error).toBeInstanceOf(JobDecodeError);
    expect(error.message).toBe('job job-7: the message does not authenticate (queued with a different queue.key, or altered in Redis)');
  });

  it('refuses data sealed with another key, or moved to another job', async () => {
    const data = await jobCodec(KEY).encode(fetched(), 'job-7');
    expect((await decodeError(data, 'job-7', OTHER_KEY)).message).toMatch(/^job job-7: the message does not authenticate/);
    expect((await decodeError(data, 'job-8')).message).toMatch(/^job job-8: the message does not authenticate/);
  });

  it('refuses another format version and data that is not a sealed job', async () => {
    const data: ScanJobData = await jobCodec(KEY).encode(fetched(), 'job-7');
    expect((await decodeError({ ...data, v: 2 }, 'job-7')).message).toBe('job job-7: job format 2 is not supported (this worker reads format 1)');
    expect((await decodeError({ raw: 'plain mail' }, 'job-7')).message).toBe('job job-7: not a Kestrel scan job (no sealed message)');
    expect((await decodeError({ v: 1, sealed: 'AAAA' }, 'job-7')).message).toBe('job job-7: the sealed message is truncated');
  });
});

describe('job ids', () => {
  const position = { account: 'acct-quokka', folder: 'INBOX', uidValidity: '1700000000', uid: 42 };

  it('are the same for the same position and key, and differ otherwise', () => {
    const ids = jobIds(KEY);
    const id = ids(position);
    expect(jobIds(KEY)(position)).toBe(id);
    expect(jobIds(OTHER_KEY)(position)).not.toBe(id);
    const others = [
      { ...position, account: 'acct-other' },
      { ...position, folder: 'Sent' },
      { ...position, uidValidity: '1700000001' },
      { ...position, uid: 43 },
      // Field boundaries cannot be shifted to make a collision.
      { ...position, account: 'acct-quokka","INBOX', folder: '' },
    ];
    expect(new Set([id, ...others.map(ids)]).size).toBe(others.length + 1);
  });

  it('say nothing about the mailbox and suit BullMQ (no ":", not an integer)', () => {
    const id = jobIds(KEY)(position);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id).not.toContain('quokka');
  });
});
