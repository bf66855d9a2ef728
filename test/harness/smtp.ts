/**
 * An in-process SMTP relay for tests (the `smtp-server` package) on a random loopback port. It
 * keeps what it accepted, byte for byte (after dot-unstuffing), and can be told to misbehave the
 * way real relays do: refuse recipients, defer messages, answer late or not at all after storing a
 * message, drop the connection before the data. Optionally requires a login, and serves TLS with
 * a given certificate by STARTTLS and on a second, implicit-TLS port.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export interface ReceivedMessage {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface SmtpBehaviour {
  /** RCPT TO for these addresses gets `550 5.1.1 <address>: Recipient address rejected`. */
  rejectRecipients: string[];
  /** The next this many messages get `451 4.3.0` after their data (not stored). */
  temporaryFailures: number;
  /** Store the message, then wait this long before the `250` (provokes a client timeout after acceptance). */
  replyDelayMs: number;
  /** Store the message, then drop the connection without replying. */
  dropAfterData: boolean;
  /** Drop the connection on RCPT TO, before any data. */
  dropBeforeData: boolean;
  /** Drop the connection as soon as the first bytes of the data arrive. */
  dropDuringData: boolean;
}

export interface SmtpServerOptions {
  /** Require AUTH PLAIN/LOGIN with these credentials (allowed in clear: loopback tests). */
  auth?: { user: string; password: string };
  /** PEM certificate and key: STARTTLS on `port`, implicit TLS on `tlsPort`. Without it, no STARTTLS. */
  tls?: { cert: string; key: string };
  /** Runs for each stored message before the reply, e.g. to deliver it into Dovecot. */
  onMessage?: (message: ReceivedMessage) => Promise<void>;
}

export interface SmtpTestServer {
  host: string;
  port: number;
  /** The implicit-TLS port, when started with `tls`. */
  tlsPort?: number;
  received: ReceivedMessage[];
  /** Connections accepted so far (both ports). */
  readonly connections: number;
  /** How the server behaves from now on; fields not given go back to normal. */
  behave(behaviour: Partial<SmtpBehaviour>): void;
  stop(): Promise<void>;
}

const NORMAL: SmtpBehaviour = { rejectRecipients: [], temporaryFailures: 0, replyDelayMs: 0, dropAfterData: false, dropBeforeData: false, dropDuringData: false };

function replyError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

async function listen(server: SMTPServer, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.server.address() as AddressInfo).port);
    });
  });
}

function close(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => {
    for (const connection of server.connections) connection._socket.destroy();
    server.close(() => resolve());
  });
}

export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<SmtpTestServer> {
  let behaviour: SmtpBehaviour = { ...NORMAL };
  const received: ReceivedMessage[] = [];
  let connections = 0;
  const servers: SMTPServer[] = [];
  let queueIds = 0;

  const drop = (session: SMTPServerSession) => {
    for (const server of servers) {
      for (const connection of server.connections) if (connection.id === session.id) connection._socket.destroy();
    }
  };

  const handlers: SMTPServerOptions = {
    logger: false,
    disableReverseLookup: true,
    // Without a certificate of our own, smtp-server would offer STARTTLS with its published test key.
    disabledCommands: options.tls ? [] : ['STARTTLS'],
    ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    authOptional: options.auth === undefined,
    allowInsecureAuth: true,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.password) return callback(null, { user: auth.username });
      callback(replyError('Authentication credentials invalid', 535));
    },
    onRcptTo(address, session, callback) {
      if (behaviour.dropBeforeData) return drop(session);
      if (behaviour.rejectRecipients.includes(address.address.toLowerCase())) {
        return callback(replyError(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`, 550));
      }
      callback();
    },
    onData(stream, session, callback) {
      if (behaviour.dropDuringData) {
        stream.once('data', () => drop(session));
        return;
      }
      readAll(stream).then(
        async (raw) => {
          if (behaviour.temporaryFailures > 0) {
            behaviour.temporaryFailures--;
            return callback(replyError('4.3.0 Temporary failure, try again later', 451));
          }
          const { mailFrom, rcptTo } = session.envelope;
          const message = { from: mailFrom ? mailFrom.address : '', to: rcptTo.map((r) => r.address), raw };
          received.push(message);
          await options.onMessage?.(message);
          if (behaviour.dropAfterData) return drop(session);
          const reply = () => callback(null, `Ok: queued as TEST${++queueIds}`);
          if (behaviour.replyDelayMs > 0) setTimeout(reply, behaviour.replyDelayMs);
          else reply();
        },
        (error: Error) => callback(error),
      );
    },
  };

  const plain = new SMTPServer(handlers);
  servers.push(plain);
  const port = await listen(plain);
  let tlsPort: number | undefined;
  if (options.tls) {
    const implicit = new SMTPServer({ ...handlers, secure: true });
    servers.push(implicit);
    tlsPort = await listen(implicit);
  }

  return {
    host: '127.0.0.1',
    port,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    received,
    get connections() {
      return connections;
    },
    behave(next) {
      behaviour = { ...NORMAL, ...next };
    },
    async stop() {
      await Promise.all(servers.map(close));
    },
  };
}
