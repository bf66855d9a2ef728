/**
 * The IMAP APPEND copy transport against a throw-away Dovecot: the copy lands unread and
 * byte-identical in its folder (created on first use), delivered() finds it by Message-ID, a
 * connection the server dropped is replaced on the next send, and a refused login is temporary.
 * openCopyTransports picks the destination for a listed address and the relay for the rest.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ImapDestination } from '../../src/config/delivery-schema.js';
import { parseConfig } from '../../src/config/load.js';
import { createImapAppendTransport } from '../../src/copy/transport/imap-append.js';
import { openCopyTransports } from '../../src/copy/transport/transports.js';
import type { CopyTransport, OutgoingCopy } from '../../src/copy/types.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { startSmtpServer, type SmtpTestServer } from '../harness/smtp.js';

const silent = pino({ level: process.env.KESTREL_TEST_LOG ?? 'silent' });

/** delivery.imap as kestrel.yaml would give it, defaults applied. */
function destinations(server: DovecotServer, entries: string[]): ImapDestination[] {
  const items = entries.map((entry) => `    - host: 127.0.0.1\n      port: ${server.port}\n      tls: none\n${entry.replace(/^/gm, '      ')}`).join('\n');
  return parseConfig('/tmp/kestrel-test.yaml', `delivery:\n  imap:\n${items}\n`).delivery.imap;
}

let counter = 0;
function copy(to = 'monitor@riverbank-trust.sch.uk', body = 'A copy for the monitor.\r\n'): OutgoingCopy {
  const messageId = `<imap-copy-${++counter}.${process.pid}@kestrel.test>`;
  const head = ['From: Kestrel <kestrel@riverbank-trust.sch.uk>', `To: ${to}`, `Subject: [Kestrel] safety flag ${counter}`, `Message-ID: ${messageId}`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', ''];
  return { raw: Buffer.from(head.join('\r\n') + '\r\n' + body, 'utf8'), from: 'kestrel@riverbank-trust.sch.uk', to, messageId };
}

/** The messages in `folder` of `user`'s mailbox, with their flags and exact bytes. */
async function folderContents(server: DovecotServer, user: string, folder: string): Promise<Array<{ flags: string[]; source: Buffer }>> {
  const client = await server.client(user);
  try {
    const lock = await client.getMailboxLock(folder, { readOnly: true });
    try {
      const messages: Array<{ flags: string[]; source: Buffer }> = [];
      for await (const message of client.fetch('1:*', { flags: true, source: true })) messages.push({ flags: [...(message.flags ?? [])], source: message.source! });
      return messages;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

/**
 * A loopback proxy in front of Dovecot that, once armed, lets an APPEND through and swallows the
 * server's tagged OK, closing both sides instead: the message is stored and the client never hears.
 */
async function startSwallowingProxy(upstreamPort: number): Promise<{ port: number; arm(): void; stop(): Promise<void> }> {
  let armed = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: upstreamPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    let appending = false;
    client.on('data', (chunk: Buffer) => {
      if (armed && / APPEND /i.test(chunk.toString('latin1'))) appending = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (appending && /(^|\r\n)[A-Za-z0-9]+ OK/.test(chunk.toString('latin1'))) {
        armed = false;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    arm: () => (armed = true),
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!dovecotAvailable())('IMAP APPEND copy transport', () => {
  let server: DovecotServer;
  let transport: CopyTransport;

  beforeAll(async () => {
    server = await startDovecot({ users: ['monitor', 'dsl'].map((name) => ({ name, password: 'secret' })) });
    const [destination] = destinations(server, ['address: monitor@riverbank-trust.sch.uk\nuser: monitor\npassword: { value: secret }\nfolder: Kestrel copies']);
    transport = createImapAppendTransport(destination!, silent, { field: 'delivery.imap[0]' });
  });

  afterAll(async () => {
    await transport?.close();
    await server?.stop();
  });

  test('verify() logs in and makes the folder', async () => {
    await transport.verify();
    const client = await server.client('monitor');
    try {
      expect((await client.list()).map((m) => m.path)).toContain('Kestrel copies');
    } finally {
      await client.logout();
    }
  });

  test('a copy lands in the folder unread and byte-identical; delivered() finds it by Message-ID', async () => {
    const sent = copy(undefined, 'Café, £5 — naïve\r\n.a line with a leading dot\r\n');
    expect(await transport.delivered(sent.to, sent.messageId)).toBe(false);
    const outcome = await transport.send(sent);
    expect(outcome).toMatchObject({ kind: 'sent', response: expect.stringMatching(/^appended to Kestrel copies as UID \d+$/) });
    const found = (await folderContents(server, 'monitor', 'Kestrel copies')).filter((m) => m.source.includes(sent.messageId));
    expect(found).toHaveLength(1);
    expect(found[0]!.flags).not.toContain('\\Seen');
    expect(found[0]!.source.equals(sent.raw)).toBe(true);
    expect(await transport.delivered(sent.to, sent.messageId)).toBe(true);
    expect(await transport.delivered(sent.to, `<not-${sent.messageId.slice(1)}`)).toBe(false);
  });

  test('after the server drops the connection, the next send reconnects and succeeds', async () => {
    expect((await transport.send(copy())).kind).toBe('sent');
    await server.dropConnections();
    // The server's BYE can reach the client after the next APPEND has gone out on the dying
    // connection (it did on a loaded machine): that copy is then uncertain, never lost, and the
    // copier looks for it before sending again. Either way the send after it uses a new connection.
    const first = copy();
    const outcome = await transport.send(first);
    expect(['sent', 'uncertain']).toContain(outcome.kind);
    if (outcome.kind === 'sent') expect(await transport.delivered(first.to, first.messageId)).toBe(true);
    const sent = copy();
    expect((await transport.send(sent)).kind).toBe('sent');
    expect(await transport.delivered(sent.to, sent.messageId)).toBe(true);
  });

  test('a folder deleted behind its back is made again', async () => {
    const client = await server.client('monitor');
    try {
      await client.mailboxDelete('Kestrel copies');
    } finally {
      await client.logout();
    }
    const sent = copy();
    expect((await transport.send(sent)).kind).toBe('sent');
    expect(await transport.delivered(sent.to, sent.messageId)).toBe(true);
  });

  test('no tagged reply after the APPEND was sent is uncertain, and the copy is there', async () => {
    const proxy = await startSwallowingProxy(server.port);
    const [destination] = destinations(server, ['address: monitor@riverbank-trust.sch.uk\nuser: monitor\npassword: { value: secret }\nfolder: Kestrel copies']);
    const proxied = createImapAppendTransport({ ...destination!, port: proxy.port }, silent, { field: 'delivery.imap[0]' });
    try {
      await proxied.verify();
      proxy.arm();
      const sent = copy();
      const outcome = await proxied.send(sent);
      expect(outcome).toMatchObject({ kind: 'uncertain', error: expect.stringContaining('after the message was sent') });
      expect(await proxied.delivered(sent.to, sent.messageId)).toBe(true);
    } finally {
      await proxied.close();
      await proxy.stop();
    }
  });

  test('a wrong password is temporary, names the destination, and verify() says why', async () => {
    const [wrong] = destinations(server, ['address: dsl@riverbank-trust.sch.uk\nuser: dsl\npassword: { value: not-the-password }']);
    const refused = createImapAppendTransport(wrong!, silent, { field: 'delivery.imap[1]' });
    try {
      const outcome = await refused.send(copy('dsl@riverbank-trust.sch.uk'));
      expect(outcome).toMatchObject({ kind: 'temporary', error: expect.stringMatching(/^delivery\.imap\[1\] \(127\.0\.0\.1:\d+\) refused the login \(check delivery\.imap\[1\]\.user and delivery\.imap\[1\]\.password\)/) });
      await expect(refused.verify()).rejects.toThrow(/^delivery\.imap\[1\] \(127\.0\.0\.1:\d+\) refused the login/);
      expect(await refused.delivered('dsl@riverbank-trust.sch.uk', '<x@y>')).toBeUndefined();
    } finally {
      await refused.close();
    }
  });

  test('a server that is not there is temporary', async () => {
    const [destination] = destinations(server, ['address: dsl@riverbank-trust.sch.uk\nuser: dsl\npassword: { value: secret }']);
    const absent = createImapAppendTransport({ ...destination!, port: 1 }, silent, { field: 'delivery.imap[1]' });
    try {
      expect(await absent.send(copy('dsl@riverbank-trust.sch.uk'))).toMatchObject({ kind: 'temporary', error: expect.stringContaining('delivery.imap[1] (127.0.0.1:1): cannot connect') });
    } finally {
      await absent.close();
    }
  });
});

describe.skipIf(!dovecotAvailable())('openCopyTransports', () => {
  let dovecot: DovecotServer;
  let relay: SmtpTestServer;

  beforeAll(async () => {
    [dovecot, relay] = await Promise.all([startDovecot({ users: [{ name: 'dsl', password: 'secret' }] }), startSmtpServer()]);
  });

  afterAll(async () => {
    await dovecot?.stop();
    await relay?.stop();
  });

  test('a listed address goes by IMAP, the rest by the one relay; verify() checks them all', async () => {
    const yaml = `delivery:\n  smtp:\n    host: 127.0.0.1\n    port: ${relay.port}\n    tls: none\n  imap:\n    - address: DSL@riverbank-trust.sch.uk\n      host: 127.0.0.1\n      port: ${dovecot.port}\n      tls: none\n      user: dsl\n      password: { value: secret }\n`;
    const transports = openCopyTransports(parseConfig('/tmp/kestrel-test.yaml', yaml).delivery, silent);
    try {
      await transports.verify();
      expect(transports.for('dsl@riverbank-trust.sch.uk').method).toBe('imap');
      expect(transports.for(' DSL@Riverbank-Trust.sch.uk ')).toBe(transports.for('dsl@riverbank-trust.sch.uk'));
      expect(transports.for('monitor@riverbank-trust.sch.uk').method).toBe('smtp');
      expect(transports.for('head@riverbank-trust.sch.uk')).toBe(transports.for('monitor@riverbank-trust.sch.uk'));
      const sent = copy('monitor@riverbank-trust.sch.uk');
      expect((await transports.for(sent.to).send(sent)).kind).toBe('sent');
      expect(relay.received.filter((m) => m.raw.includes(sent.messageId))).toHaveLength(1);
      const appended = copy('dsl@riverbank-trust.sch.uk');
      expect((await transports.for(appended.to).send(appended)).kind).toBe('sent');
      expect(await transports.for(appended.to).delivered(appended.to, appended.messageId)).toBe(true);
    } finally {
      await transports.close();
    }
  });

  test('verify() names every transport that fails', async () => {
    const yaml = `delivery:\n  smtp:\n    host: 127.0.0.1\n    port: 1\n    tls: none\n    timeoutSeconds: 2\n  imap:\n    - address: dsl@riverbank-trust.sch.uk\n      host: 127.0.0.1\n      port: ${dovecot.port}\n      tls: none\n      user: dsl\n      password: { value: wrong }\n`;
    const transports = openCopyTransports(parseConfig('/tmp/kestrel-test.yaml', yaml).delivery, silent);
    try {
      await expect(transports.verify()).rejects.toThrow(/delivery\.imap\[0\] \(127\.0\.0\.1:\d+\) refused the login.*; delivery\.smtp \(127\.0\.0\.1:1\): /);
    } finally {
      await transports.close();
    }
  });

  test('an address with no way to reach it is a clear error', () => {
    const yaml = `delivery:\n  imap:\n    - address: dsl@riverbank-trust.sch.uk\n      host: 127.0.0.1\n      tls: none\n      user: dsl\n      password: { value: secret }\n`;
    const transports = openCopyTransports(parseConfig('/tmp/kestrel-test.yaml', yaml).delivery, silent);
    expect(() => transports.for('monitor@riverbank-trust.sch.uk')).toThrow('no way to deliver to this recipient: delivery.smtp is not set and delivery.imap does not list the address');
  });
});
