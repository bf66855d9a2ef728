/**
 * Messages over `queue.maxMessageBytes` reach the sink without their attachments: the header and
 * the text parts (also those of attached messages) in a rebuilt MIME message, the rest listed in
 * `skippedParts`. In a journal folder the attached original is the one reduced.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { fieldValue } from '../../src/scan/parse/mime-header.js';
import { decodeText, readEntity, splitMultipart } from '../../src/connect/mime-parts.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { connectorConfig, harness, silent, waitFor } from './support.js';

const LIMIT = 64 * 1024;

function base64Lines(bytes: Buffer): string {
  return bytes.toString('base64').replace(/.{76}/g, '$&\r\n');
}

const PDF = randomBytes(200 * 1024);
const PNG = randomBytes(10 * 1024);

/** Text and HTML, a 200 KB PDF, a forwarded message with a picture, and a forwarded single-part note. */
function bigMessage(): Buffer {
  const lines = [
    'From: j.ward@riverbank-trust.sch.uk',
    'To: 22amorgan@pupils.riverbank-trust.sch.uk',
    'Subject: Trip forms and photos',
    'Message-ID: <big-1@riverbank-trust.sch.uk>',
    'Date: Tue, 22 Sep 2026 10:00:00 +0100',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Please return the trip form by Friday =E2=80=93 Mr Ward',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Please return the trip form by Friday</p>',
    '--alt--',
    '',
    '--outer',
    'Content-Type: application/pdf; name="form.pdf"',
    'Content-Disposition: attachment; filename="form.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(PDF),
    '--outer',
    'Content-Type: message/rfc822',
    '',
    'From: k.patel@riverbank-trust.sch.uk',
    'Subject: photos from the trip',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="inner"',
    '',
    '--inner',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Photos attached, inner text.',
    '--inner',
    'Content-Type: image/png; name="photo.png"',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(PNG),
    '--inner--',
    '',
    '--outer',
    'Content-Type: message/rfc822',
    '',
    'From: h.carter@riverbank-trust.sch.uk',
    'Subject: note',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    'A forwarded single-part note.',
    '',
    '--outer--',
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function journalReport(original: Buffer): Buffer {
  const head = [
    'From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@riverbanktrust.onmicrosoft.com>',
    'To: journal@riverbank-trust.sch.uk',
    'Subject: Trip forms and photos',
    'Message-ID: <report-1@journal>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="jr"',
    'X-MS-Journal-Report:',
    '',
    '--jr',
    'Content-Type: text/plain; charset="us-ascii"',
    '',
    'Sender: j.ward@riverbank-trust.sch.uk',
    'Subject: Trip forms and photos',
    'Message-Id: <big-1@riverbank-trust.sch.uk>',
    'To: 22amorgan@pupils.riverbank-trust.sch.uk',
    'Bcc: dsl@riverbank-trust.sch.uk',
    '',
    '--jr',
    'Content-Type: message/rfc822',
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head), original, Buffer.from('\r\n--jr--\r\n')]);
}

function expectReduced(raw: Buffer): void {
  expect(raw.length).toBeLessThan(8 * 1024);
  const entity = readEntity(raw);
  expect(fieldValue(entity.fields, 'subject')).toBe('Trip forms and photos');
  expect(fieldValue(entity.fields, 'message-id')).toBe('<big-1@riverbank-trust.sch.uk>');
  expect(entity.contentType.type).toBe('multipart/mixed');
  const parts = splitMultipart(entity.body, entity.contentType.params.boundary!);
  expect(parts.map((p) => p.contentType.type)).toEqual(['text/plain', 'text/html', 'text/plain', 'text/plain']);
  expect(parts.map((p) => decodeText(p).trim())).toEqual([
    'Please return the trip form by Friday – Mr Ward',
    '<p>Please return the trip form by Friday</p>',
    'Photos attached, inner text.',
    'A forwarded single-part note.',
  ]);
}

describe.skipIf(!dovecotAvailable())('oversized messages on Dovecot', () => {
  let server: DovecotServer;
  const running: ConnectorHandle[] = [];

  beforeAll(async () => {
    server = await startDovecot({ users: ['big', 'bigjournal'].map((name) => ({ name, password: 'secret' })) });
  });

  afterAll(async () => {
    await Promise.all(running.map((c) => c.close()));
    await server?.stop();
  });

  async function run(user: string, journal: boolean, message: Buffer) {
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user, folders: ['INBOX'], journal }], { queue: { maxMessageBytes: LIMIT } });
    const connector = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    const client = await server.client(user);
    try {
      await client.append('INBOX', message);
    } finally {
      await client.logout();
    }
    await waitFor(() => sink.messages.length === 1, 'the oversized message');
    return sink.messages[0]!;
  }

  test('the header and text parts travel, the attachments are listed as skipped', async () => {
    const message = bigMessage();
    expect(message.length).toBeGreaterThan(LIMIT);
    const fetched = await run('big', false, message);
    expectReduced(fetched.raw);
    expect(fetched.skippedParts).toEqual([
      { contentType: 'application/pdf', size: expect.any(Number) },
      { contentType: 'image/png', size: expect.any(Number) },
    ]);
    expect(fetched.skippedParts![0]!.size).toBeGreaterThan(200 * 1024);
  });

  test('in a journal folder the attached original is reduced and the envelope kept', async () => {
    const fetched = await run('bigjournal', true, journalReport(bigMessage()));
    expect(fetched.envelope).toEqual({ sender: 'j.ward@riverbank-trust.sch.uk', recipients: ['22amorgan@pupils.riverbank-trust.sch.uk', 'dsl@riverbank-trust.sch.uk'] });
    expectReduced(fetched.raw);
    expect(fetched.skippedParts!.map((p) => p.contentType)).toEqual(['application/pdf', 'image/png']);
  });
});
