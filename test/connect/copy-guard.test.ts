/**
 * Loop prevention: Kestrel's own signed copies are skipped (and the checkpoint still moves past
 * them); a copy header anyone could add, or a valid one on another message, is scanned.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { KESTREL_COPY_HEADER, checkKestrelCopy, kestrelCopyBounce, kestrelCopyHeaderValue, nestedKestrelCopy, verifyKestrelCopyHeader } from '../../src/connect/copy-guard.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { bounceReport as bounce } from '../helpers/bounce.js';
import { connectorConfig, harness, mail, silent, waitFor } from './support.js';

const SECRET = randomBytes(32);

function copyOf(subject: string, flagId: number, secret: Buffer, messageId = `<copy-${randomBytes(6).toString('hex')}@kestrel>`): Buffer {
  return mail({ subject, messageId, headers: [`${KESTREL_COPY_HEADER}: ${kestrelCopyHeaderValue(flagId, messageId, secret)}`] });
}

describe('the signed copy header', () => {
  test('verifies only with the same secret, flag id and Message-ID', () => {
    const value = kestrelCopyHeaderValue(42, '<m1@kestrel>', SECRET);
    expect(verifyKestrelCopyHeader(value, '<m1@kestrel>', SECRET)).toBe(true);
    expect(verifyKestrelCopyHeader(value, ' <m1@kestrel> (comment)', SECRET)).toBe(true);
    expect(verifyKestrelCopyHeader(value, '<m2@kestrel>', SECRET)).toBe(false);
    expect(verifyKestrelCopyHeader(value, '<m1@kestrel>', randomBytes(32))).toBe(false);
    expect(verifyKestrelCopyHeader(value.replace('flag=42', 'flag=43'), '<m1@kestrel>', SECRET)).toBe(false);
    expect(verifyKestrelCopyHeader('v1; flag=42; sig=yes', '<m1@kestrel>', SECRET)).toBe(false);
    expect(verifyKestrelCopyHeader(value, undefined, SECRET)).toBe(false);
  });

  test('classifies raw messages', () => {
    expect(checkKestrelCopy(copyOf('copy', 7, SECRET), SECRET)).toMatchObject({ kind: 'verified' });
    expect(checkKestrelCopy(copyOf('forged', 7, randomBytes(32)), SECRET)).toEqual({ kind: 'forged' });
    expect(checkKestrelCopy(mail({ subject: 'x', headers: [`${KESTREL_COPY_HEADER}: skip me please`] }), SECRET)).toEqual({ kind: 'forged' });
    expect(checkKestrelCopy(mail({ subject: 'plain' }), SECRET)).toEqual({ kind: 'none' });
  });
});

describe('a message carrying a copy', () => {
  test('is recognised in a bounce, whole or headers only, and only when the copy is signed', () => {
    const copy = copyOf('the copy', 9, SECRET, '<copy-9@kestrel>');
    expect(nestedKestrelCopy(bounce(copy, 'message/rfc822'), SECRET)).toBe('<copy-9@kestrel>');
    expect(nestedKestrelCopy(bounce(copy, 'text/rfc822-headers'), SECRET)).toBe('<copy-9@kestrel>');
    expect(nestedKestrelCopy(bounce(copyOf('forged', 9, randomBytes(32)), 'message/rfc822'), SECRET)).toBeUndefined();
    expect(nestedKestrelCopy(bounce(mail({ subject: 'ordinary' }), 'message/rfc822'), SECRET)).toBeUndefined();
    // The copy itself does not carry one: its own header is the connectors' business.
    expect(nestedKestrelCopy(copy, SECRET)).toBeUndefined();
  });

  test('a bounce report names the copy, the status and the reason, without addresses', () => {
    const copy = copyOf('the copy', 9, SECRET, '<copy-9@kestrel>');
    expect(kestrelCopyBounce(bounce(copy, 'text/rfc822-headers'), SECRET)).toEqual({ messageId: '<copy-9@kestrel>', recipient: 'head@oakfield.sch.uk', status: '5.2.2', diagnostic: '552 5.2.2 <<address>>: mailbox full' });
    expect(kestrelCopyBounce(bounce(copy, 'message/rfc822'), SECRET)).toMatchObject({ messageId: '<copy-9@kestrel>' });
    // A delay notice is not a bounce; nor is a report whose returned part is some other message.
    expect(kestrelCopyBounce(bounce(copy, 'message/rfc822', '4.4.7'), SECRET)).toBeUndefined();
    expect(kestrelCopyBounce(bounce(mail({ subject: 'ordinary' }), 'message/rfc822'), SECRET)).toBeUndefined();
    // A signed block pasted into a report's text is not the returned message's own header.
    const pasted = bounce(mail({ subject: 'ordinary' }), 'message/rfc822').toString('latin1').replace('The mailbox is full.', `The mailbox is full.\r\n\r\n${copy.subarray(0, copy.indexOf('\r\n\r\n')).toString('latin1')}\r\n`);
    expect(kestrelCopyBounce(Buffer.from(pasted, 'latin1'), SECRET)).toBeUndefined();
    // A copy forwarded as an attachment is not a bounce.
    const forward = Buffer.concat([Buffer.from('From: head@oakfield.sch.uk\r\nSubject: Fwd\r\nContent-Type: multipart/mixed; boundary="f"\r\n\r\n--f\r\nContent-Type: message/rfc822\r\n\r\n'), copy, Buffer.from('\r\n--f--\r\n')]);
    expect(kestrelCopyBounce(forward, SECRET)).toBeUndefined();
    expect(nestedKestrelCopy(forward, SECRET)).toBe('<copy-9@kestrel>');
  });
});

describe.skipIf(!dovecotAvailable())('loop guard on Dovecot', () => {
  let server: DovecotServer;
  const running: ConnectorHandle[] = [];

  beforeAll(async () => {
    server = await startDovecot({ users: ['monitor', 'nosecret'].map((name) => ({ name, password: 'secret' })) });
  });

  afterAll(async () => {
    await Promise.all(running.map((c) => c.close()));
    await server?.stop();
  });

  async function appendAll(user: string, messages: Buffer[]): Promise<void> {
    const client = await server.client(user);
    try {
      for (const message of messages) await client.append('INBOX', message);
    } finally {
      await client.logout();
    }
  }

  test('verified copies are skipped and passed by the checkpoint; forged headers are scanned', async () => {
    const { sink, checkpoints, metrics } = harness();
    const connector = startConnector({ config: connectorConfig(server, [{ user: 'monitor', folders: ['INBOX'] }]), sink, checkpoints, metrics, logger: silent, copyGuard: { secret: SECRET } });
    running.push(connector);
    await connector.idle();
    const replayed = copyOf('valid header, another message', 9, SECRET);
    const withOtherId = Buffer.from(replayed.toString('latin1').replace(/^Message-ID: .*$/m, 'Message-ID: <someone-else@example.org>'), 'latin1');
    await appendAll('monitor', [copyOf('kestrel copy', 1, SECRET), copyOf('forged copy', 2, randomBytes(32)), mail({ subject: 'ordinary' }), withOtherId, copyOf('kestrel copy 2', 3, SECRET)]);
    await waitFor(async () => (await checkpoints.checkpoint('monitor', 'INBOX'))?.lastUid === 5, 'the checkpoint past all five');
    expect(sink.subjects()).toEqual(['forged copy', 'ordinary', 'valid header, another message']);
  });

  test('without a secret nothing is skipped', async () => {
    const { sink, checkpoints, metrics } = harness();
    const connector = startConnector({ config: connectorConfig(server, [{ user: 'nosecret', folders: ['INBOX'] }]), sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    await appendAll('nosecret', [copyOf('kestrel copy', 1, SECRET), mail({ subject: 'ordinary' })]);
    await waitFor(() => sink.messages.length === 2, 'both messages');
    expect(sink.subjects()).toEqual(['kestrel copy', 'ordinary']);
  });
});

describe('looking for nested copies', () => {
  test('takes time in proportion to the message, however many copy headers it repeats', () => {
    const lines = Buffer.from(`${KESTREL_COPY_HEADER}: x\r\n`.repeat(200_000));
    const hostile = Buffer.concat([Buffer.from('From: a@b.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'), lines]);
    // 4 MB of repeated headers: the search reads a bounded number of blocks of bounded size.
    expect(nestedKestrelCopy(hostile, SECRET)).toBeUndefined();
    expect(kestrelCopyBounce(hostile, SECRET)).toBeUndefined();
  });
});
