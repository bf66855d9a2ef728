/**
 * The SMTP copy transport against a real relay (smtp-server in-process on loopback): copies arrive
 * once and byte-identical with the right envelope, and each kind of failure comes back as the
 * outcome the copier needs, above all `uncertain` (the relay stored the copy but the reply never
 * came) as opposed to `temporary` (it cannot have the copy).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SmtpConfig } from '../../src/config/delivery-schema.js';
import { parseConfig } from '../../src/config/load.js';
import { createSmtpTransport } from '../../src/copy/transport/smtp.js';
import type { CopyTransport, OutgoingCopy } from '../../src/copy/types.js';
import { makeCertificates, opensslAvailable } from '../harness/certs.js';
import { startSmtpServer, type SmtpTestServer } from '../harness/smtp.js';
import { sleep, waitFor } from '../helpers/wait.js';

const silent = pino({ level: process.env.KESTREL_TEST_LOG ?? 'silent' });

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** delivery.smtp as kestrel.yaml would give it, defaults applied. */
function smtpConfig(yaml: string): SmtpConfig {
  const config = parseConfig('/tmp/kestrel-test.yaml', `delivery:\n  smtp:\n${yaml.replace(/^/gm, '    ')}\n`);
  return config.delivery.smtp!;
}

function plainConfig(server: SmtpTestServer, extra = ''): SmtpConfig {
  return smtpConfig(`host: 127.0.0.1\nport: ${server.port}\ntls: none\ntimeoutSeconds: 1\n${extra}`);
}

let counter = 0;
function copy(body: Buffer | string = 'A copy for the monitor.\r\n', to = 'monitor@riverbank-trust.sch.uk'): OutgoingCopy {
  const messageId = `<copy-${++counter}.${process.pid}@kestrel.test>`;
  const head = ['From: Kestrel <kestrel@riverbank-trust.sch.uk>', `To: ${to}`, `Subject: [Kestrel] safety flag ${counter}`, `Message-ID: ${messageId}`, 'MIME-Version: 1.0', ''];
  const raw = Buffer.concat([Buffer.from(head.join('\r\n') + '\r\n', 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1')]);
  return { raw, from: 'kestrel@riverbank-trust.sch.uk', to, messageId };
}

describe('SMTP copy transport', () => {
  let server: SmtpTestServer;
  let transport: CopyTransport;

  beforeAll(async () => {
    server = await startSmtpServer();
    transport = createSmtpTransport(plainConfig(server), silent);
  });

  afterAll(async () => {
    await transport?.close();
    await server?.stop();
  });

  test('a 7-bit copy arrives once, byte-identical, with the envelope given', async () => {
    server.behave({});
    const sent = copy('Line one.\r\n.A line that starts with a dot.\r\n..and two.\r\n\r\nLast line.\r\n');
    const outcome = await transport.send(sent);
    expect(outcome).toMatchObject({ kind: 'sent', response: expect.stringMatching(/^250 Ok: queued as TEST\d+$/) });
    const arrived = server.received.filter((m) => m.raw.includes(sent.messageId));
    expect(arrived).toHaveLength(1);
    expect(arrived[0]!.from).toBe('kestrel@riverbank-trust.sch.uk');
    expect(arrived[0]!.to).toEqual(['monitor@riverbank-trust.sch.uk']);
    expect(arrived[0]!.raw.equals(sent.raw)).toBe(true);
  });

  test('an 8-bit copy arrives byte-identical', async () => {
    server.behave({});
    const body = Buffer.concat([Buffer.from('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), Buffer.from('Café, naïve, £5 — 日本語\r\n', 'utf8'), Buffer.from([0xe9, 0xff, 0x80, 0x0d, 0x0a])]);
    const sent = copy(body);
    expect((await transport.send(sent)).kind).toBe('sent');
    const arrived = server.received.find((m) => m.raw.includes(sent.messageId));
    expect(arrived?.raw.equals(sent.raw)).toBe(true);
  });

  test('a large copy arrives byte-identical', async () => {
    server.behave({});
    // Lines of odd lengths that start with dots, so slices and dot-stuffing meet mid-line.
    const lines = Array.from({ length: 60_000 }, (_, i) => `.${'x'.repeat(i % 97)}.\r\n`).join('');
    const sent = copy(lines);
    // 3 MB against the suite's 1 s timeout failed once on a loaded CI machine: this test is about bytes, not time.
    const patient = createSmtpTransport(smtpConfig(`host: 127.0.0.1\nport: ${server.port}\ntls: none\ntimeoutSeconds: 30\n`), silent);
    try {
      expect((await patient.send(sent)).kind).toBe('sent');
    } finally {
      await patient.close();
    }
    const arrived = server.received.find((m) => m.raw.includes(sent.messageId));
    expect(arrived?.raw.length).toBe(sent.raw.length);
    expect(arrived?.raw.equals(sent.raw)).toBe(true);
  });

  test('a refused recipient is permanent, with the reply and the command, without the address', async () => {
    server.behave({ rejectRecipients: ['left@riverbank-trust.sch.uk'] });
    const outcome = await transport.send(copy(undefined, 'left@riverbank-trust.sch.uk'));
    expect(outcome).toEqual({ kind: 'permanent', error: '550 5.1.1 <recipient>: Recipient address rejected: User unknown (RCPT TO)' });
  });

  test('451 is temporary, and the copy goes on the next attempt', async () => {
    server.behave({ temporaryFailures: 1 });
    const sent = copy();
    const first = await transport.send(sent);
    expect(first).toEqual({ kind: 'temporary', error: '451 4.3.0 Temporary failure, try again later (DATA)' });
    expect(server.received.some((m) => m.raw.includes(sent.messageId))).toBe(false);
    expect((await transport.send(sent)).kind).toBe('sent');
    expect(server.received.filter((m) => m.raw.includes(sent.messageId))).toHaveLength(1);
  });

  test('no reply past timeoutSeconds after the whole copy was sent is uncertain, and the relay has it', async () => {
    server.behave({ replyDelayMs: 3_000 });
    const sent = copy();
    const outcome = await transport.send(sent);
    expect(outcome.kind).toBe('uncertain');
    expect(outcome).toMatchObject({ error: expect.stringContaining('ETIMEDOUT') });
    expect(server.received.filter((m) => m.raw.includes(sent.messageId))).toHaveLength(1);
  });

  test('a connection dropped after the data, without a reply, is uncertain, and the relay has it', async () => {
    server.behave({ dropAfterData: true });
    const sent = copy();
    const outcome = await transport.send(sent);
    expect(outcome.kind).toBe('uncertain');
    expect(server.received.filter((m) => m.raw.includes(sent.messageId))).toHaveLength(1);
  });

  test('a connection dropped before the data is temporary', async () => {
    server.behave({ dropBeforeData: true });
    const sent = copy();
    const outcome = await transport.send(sent);
    expect(outcome).toMatchObject({ kind: 'temporary', error: expect.stringContaining('ECONNECTION') });
    expect(server.received.some((m) => m.raw.includes(sent.messageId))).toBe(false);
    server.behave({});
    expect((await transport.send(sent)).kind).toBe('sent');
  });

  test('a connection dropped while the data is on its way is temporary', async () => {
    server.behave({ dropDuringData: true });
    // Far more than loopback socket buffers hold, so the client cannot have sent it all.
    const sent = copy(Buffer.alloc(40 * 1024 * 1024, 'All work and no play.\r\n'));
    const outcome = await transport.send(sent);
    expect(outcome).toMatchObject({ kind: 'temporary', error: expect.stringMatching(/ECONNECTION|ESOCKET/) });
    expect(server.received.some((m) => m.raw.includes(sent.messageId))).toBe(false);
  });

  test('a relay that is not there is temporary', async () => {
    const gone = await startSmtpServer();
    const config = plainConfig(gone);
    await gone.stop();
    const absent = createSmtpTransport(config, silent);
    try {
      expect(await absent.send(copy())).toMatchObject({ kind: 'temporary', error: expect.stringMatching(/ECONNECTION|ESOCKET/) });
      await expect(absent.verify()).rejects.toThrow(`delivery.smtp (127.0.0.1:${config.port})`);
    } finally {
      await absent.close();
    }
  });

  test('pooled connections are reused', async () => {
    server.behave({});
    const before = server.connections;
    const copies = Array.from({ length: 8 }, () => copy());
    const outcomes = await Promise.all(copies.map((c) => transport.send(c)));
    expect(outcomes.every((o) => o.kind === 'sent')).toBe(true);
    for (const c of copies) expect(server.received.filter((m) => m.raw.includes(c.messageId))).toHaveLength(1);
    // maxConnections defaults to 3; at most that many new ones for 8 messages.
    expect(server.connections - before).toBeLessThanOrEqual(3);
  });

  test('delivered() cannot tell over SMTP', async () => {
    expect(await transport.delivered('monitor@riverbank-trust.sch.uk', '<x@y>')).toBeUndefined();
  });
});

describe('SMTP test relay', () => {
  test('runs onMessage with the stored message before it replies', async () => {
    const seen: string[] = [];
    let resolved = false;
    const relay = await startSmtpServer({
      onMessage: async (message) => {
        await sleep(50); // a slow delivery onwards, e.g. into Dovecot
        seen.push(`${message.to.join(',')} resolved=${resolved}`);
      },
    });
    const transport = createSmtpTransport(plainConfig(relay), silent);
    try {
      const outcome = await transport.send(copy());
      resolved = true;
      expect(outcome.kind).toBe('sent');
      expect(seen).toEqual(['monitor@riverbank-trust.sch.uk resolved=false']);
    } finally {
      await transport.close();
      await relay.stop();
    }
  });
});

describe('SMTP copy transport with a login', () => {
  let server: SmtpTestServer;
  let dir: string;

  beforeAll(async () => {
    server = await startSmtpServer({ auth: { user: 'kestrel', password: 'right horse battery' } });
    dir = mkdtempSync(join(tmpdir(), 'kestrel-smtp-auth-'));
    writeFileSync(join(dir, 'good'), 'right horse battery\n');
    writeFileSync(join(dir, 'bad'), 'wrong\n');
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('logs in and sends', async () => {
    const transport = createSmtpTransport(plainConfig(server, `user: kestrel\npassword: { file: ${join(dir, 'good')} }`), silent);
    try {
      await transport.verify();
      const sent = copy();
      expect((await transport.send(sent)).kind).toBe('sent');
      expect(server.received.filter((m) => m.raw.includes(sent.messageId))).toHaveLength(1);
    } finally {
      await transport.close();
    }
  });

  test('a wrong password is temporary, names delivery.smtp, and is logged as an error', async () => {
    const { logger, lines } = capture();
    const transport = createSmtpTransport(plainConfig(server, `user: kestrel\npassword: { file: ${join(dir, 'bad')} }`), logger);
    try {
      const outcome = await transport.send(copy());
      expect(outcome).toMatchObject({ kind: 'temporary', error: expect.stringContaining('check delivery.smtp.user and delivery.smtp.password') });
      expect(outcome).toMatchObject({ error: expect.stringContaining('535') });
      expect(lines.some((l) => l.level === 50 && String(l.msg).includes('delivery.smtp'))).toBe(true);
      await expect(transport.verify()).rejects.toThrow(/^delivery\.smtp \(127\.0\.0\.1:\d+\): the relay refused the login/);
    } finally {
      await transport.close();
    }
  });

  test('no login where the relay wants one is temporary and names the config', async () => {
    const transport = createSmtpTransport(plainConfig(server), silent);
    try {
      expect(await transport.send(copy())).toMatchObject({ kind: 'temporary', error: expect.stringContaining('delivery.smtp.user') });
    } finally {
      await transport.close();
    }
  });

  test('an unreadable password file fails the attempt (temporary) and verify(), naming the field', async () => {
    const transport = createSmtpTransport(plainConfig(server, `user: kestrel\npassword: { file: ${join(dir, 'missing')} }`), silent);
    try {
      expect(await transport.send(copy())).toMatchObject({ kind: 'temporary', error: expect.stringMatching(/^delivery\.smtp\.password: cannot read the file .*missing \(ENOENT\)$/) });
      await expect(transport.verify()).rejects.toThrow(/^delivery\.smtp\.password: cannot read the file/);
    } finally {
      await transport.close();
    }
  });
});

describe.skipIf(!opensslAvailable)('SMTP copy transport over TLS', () => {
  let server: SmtpTestServer;
  let dir: string;
  let caFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kestrel-smtp-tls-'));
    const made = makeCertificates(dir);
    caFile = made.caFile;
    server = await startSmtpServer({ tls: { cert: made.cert, key: made.key }, auth: { user: 'kestrel', password: 'secret' } });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test.each([
    ['starttls', () => server.port],
    ['implicit', () => server.tlsPort!],
  ])('%s with the trust CA in ca: logs in and sends', async (tls, port) => {
    const transport = createSmtpTransport(smtpConfig(`host: 127.0.0.1\nport: ${port()}\ntls: ${tls}\nca: ${caFile}\nuser: kestrel\npassword: { value: secret }`), silent);
    try {
      await transport.verify();
      const sent = copy();
      expect((await transport.send(sent)).kind).toBe('sent');
      await waitFor('the copy at the relay', () => server.received.some((m) => m.raw.includes(sent.messageId)));
    } finally {
      await transport.close();
    }
  });

  test('without the CA the certificate is refused: temporary, and verify() says why', async () => {
    const transport = createSmtpTransport(smtpConfig(`host: 127.0.0.1\nport: ${server.port}\ntls: starttls\nuser: kestrel\npassword: { value: secret }`), silent);
    try {
      expect(await transport.send(copy())).toMatchObject({ kind: 'temporary', error: expect.stringMatching(/ETLS|certificate/) });
      await expect(transport.verify()).rejects.toThrow(/delivery\.smtp \(127\.0\.0\.1:\d+\): .*certificate/);
    } finally {
      await transport.close();
    }
  });

  test('starttls refuses a relay that does not offer STARTTLS', async () => {
    const clear = await startSmtpServer();
    const transport = createSmtpTransport(smtpConfig(`host: 127.0.0.1\nport: ${clear.port}\ntls: starttls`), silent);
    try {
      const outcome = await transport.send(copy());
      expect(outcome).toMatchObject({ kind: 'temporary', error: expect.stringMatching(/^delivery\.smtp \(127\.0\.0\.1:\d+\): \d{3} .*\(STARTTLS\)$/) });
      expect(clear.received).toHaveLength(0);
    } finally {
      await transport.close();
      await clear.stop();
    }
  });
});
