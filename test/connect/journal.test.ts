/**
 * Journal mode: Exchange / Microsoft 365 journal reports (and the same envelope from another
 * gateway) are unwrapped into the original, byte for byte, and its envelope; anything else in the
 * journal folder is scanned as it is, with a warning that names no address.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { parseJournalEnvelope, unwrapJournalReport } from '../../src/connect/journal.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { captureLogs, connectorConfig, harness, mail, waitFor } from './support.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/journal/${name}`, import.meta.url));

const EXCHANGE_RECIPIENTS = [
  '22amorgan@pupils.riverbank-trust.sch.uk',
  '22bsingh@pupils.riverbank-trust.sch.uk',
  'k.patel@riverbank-trust.sch.uk',
  'h.carter@riverbank-trust.sch.uk',
  'coach.dave@gmail.com',
  'y9-football@riverbank-trust.sch.uk',
  'd.hughes@riverbank-trust.sch.uk',
];

describe('journal reports', () => {
  test('an Exchange journal report yields the attached original byte for byte and the envelope, Bcc and expansions included', () => {
    const unwrapped = unwrapJournalReport(fixture('exchange-journal-report.eml'));
    expect(unwrapped).not.toBeNull();
    expect(unwrapped!.original.equals(fixture('original.eml'))).toBe(true);
    expect(unwrapped!.envelope).toEqual({ sender: 'j.ward@riverbank-trust.sch.uk', recipients: EXCHANGE_RECIPIENTS });
  });

  test('the same envelope shape without the X-MS-Journal-Report header (another gateway, quoted-printable) is unwrapped too', () => {
    const unwrapped = unwrapJournalReport(fixture('gateway-journal-report.eml'));
    expect(unwrapped!.original.equals(fixture('original-2.eml'))).toBe(true);
    expect(unwrapped!.envelope).toEqual({
      sender: '22amorgan@pupils.riverbank-trust.sch.uk',
      recipients: ['22bsingh@pupils.riverbank-trust.sch.uk', 'dsl@riverbank-trust.sch.uk'],
    });
  });

  test('ordinary mail, and a forwarded attachment without an envelope or the header, is not a journal report', () => {
    expect(unwrapJournalReport(mail({ subject: 'plain' }))).toBeNull();
    const forwarded = Buffer.from(
      [
        'From: a@riverbank-trust.sch.uk',
        'Subject: Fwd: tonight',
        'Content-Type: multipart/mixed; boundary="fw"',
        '',
        '--fw',
        'Content-Type: text/plain',
        '',
        'See below.',
        '--fw',
        'Content-Type: message/rfc822',
        '',
        fixture('original-2.eml').toString('latin1'),
        '--fw--',
        '',
      ].join('\r\n'),
      'latin1',
    );
    expect(unwrapJournalReport(forwarded)).toBeNull();
  });

  test('envelope lines: Recipient with Forwarded, To with Expanded, display names, duplicates', () => {
    expect(
      parseJournalEnvelope(
        ['Sender: A@X.org', 'Subject: s', 'Message-Id: <1@x>', 'Recipient: b@x.org, Forwarded: c@x.org', 'To: "D" <d@x.org>, Expanded: g@x.org', 'Cc: b@x.org', ''].join('\r\n'),
      ),
    ).toEqual({ sender: 'a@x.org', recipients: ['b@x.org', 'd@x.org', 'c@x.org', 'g@x.org'] });
    expect(parseJournalEnvelope('Sender: a@x.org\r\nSubject: no recipients\r\nMessage-Id: <1@x>\r\n')).toBeNull();
  });
});

describe.skipIf(!dovecotAvailable())('journal mailbox on Dovecot', () => {
  let server: DovecotServer;
  let connector: ConnectorHandle | undefined;

  beforeAll(async () => {
    server = await startDovecot({ users: [{ name: 'journal', password: 'secret' }] });
  });

  afterAll(async () => {
    await connector?.close();
    await server?.stop();
  });

  test('reports reach the sink unwrapped with their envelope; other mail is scanned as it is, with a warning', async () => {
    const { sink, checkpoints, metrics } = harness();
    const { logger, lines } = captureLogs('info');
    const config = connectorConfig(server, [{ user: 'journal', folders: ['INBOX'], journal: true }]);
    connector = startConnector({ config, sink, checkpoints, metrics, logger });
    await connector.idle();
    const client = await server.client('journal');
    const stray = mail({ subject: 'not a report', from: 'someone@example.org' });
    try {
      await client.append('INBOX', fixture('exchange-journal-report.eml'));
      await client.append('INBOX', stray);
      await client.append('INBOX', fixture('gateway-journal-report.eml'));
    } finally {
      await client.logout();
    }
    await waitFor(() => sink.messages.length === 3, 'three messages');
    const [exchange, plain, gateway] = sink.messages;
    expect(exchange!.role).toBe('journal');
    expect(exchange!.raw.equals(fixture('original.eml'))).toBe(true);
    expect(exchange!.envelope).toEqual({ sender: 'j.ward@riverbank-trust.sch.uk', recipients: EXCHANGE_RECIPIENTS });
    expect(plain!.raw.equals(stray)).toBe(true);
    expect(plain!.envelope).toBeUndefined();
    expect(gateway!.raw.equals(fixture('original-2.eml'))).toBe(true);

    const warning = lines.find((l) => l.level === 40 && typeof l.msg === 'string' && l.msg.includes('not a journal report'));
    expect(warning).toMatchObject({ account: 'journal', folder: 'INBOX', uid: 2 });
    expect(JSON.stringify(warning)).not.toMatch(/@|not a report/);
  });
});
