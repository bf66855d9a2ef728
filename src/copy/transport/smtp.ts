/**
 * Copies by SMTP through the trust's relay (nodemailer, pooled connections). A send never throws
 * for delivery trouble: it says what happened, and above all whether the relay may already have
 * the copy. Once the whole message, final `.` included, has gone to the relay, a timeout or a
 * dropped connection is `uncertain` (it may have been accepted and queued); anything that fails
 * before that is `temporary`, because the relay cannot accept a message it has not received in full.
 *
 * How the end of the data is known: the error of a failed send does not say it (a timeout or a
 * closed connection is reported with command `CONN` whatever the phase), so a 'stream' plugin adds
 * a process function to each message, which gives nodemailer the outermost message stream: the
 * one its SMTP connection pipes into its dot-stuffing stream after the 354 reply to DATA. That
 * stream ends once the connection has read all of it, and its end makes the connection write the
 * terminating `.`. The copy goes through it in socket-sized slices, so backpressure holds the
 * stream open while the socket is busy. A failure while the last few slices are still buffered
 * counts as uncertain too: the safe side, since uncertain means "look before sending again".
 *
 * Replies go into the outcome with the envelope addresses replaced by `recipient` and `sender`:
 * relays quote them, and outcomes are logged. Bytes: the relay receives the copy as given when its
 * lines end in CRLF (nodemailer turns bare LF or CR into CRLF, and ends the copy with a line break).
 */
import { readFileSync } from 'node:fs';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import nodemailer from 'nodemailer';
import type { SmtpConfig } from '../../config/delivery-schema.js';
import type { Logger } from '../../log.js';
import { readSecret } from '../../queue/secret.js';
import type { CopyTransport, OutgoingCopy, SendOutcome } from '../types.js';
import { redactAddresses } from './redact.js';

const DEFAULT_PORTS = { implicit: 465, starttls: 587, none: 25 } as const;

/** Node's default stream buffer size. */
const SLICE_BYTES = 16 * 1024;

/** Replies that mean the relay wants a login we did not give or refused the one we gave. */
const AUTH_REPLY_CODES = new Set([530, 534, 535, 538]);

/** Commands whose 5xx refuses this copy or its recipient, rather than the session. */
const MESSAGE_COMMANDS = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);

/** What nodemailer puts on its errors (its own types do not list them on Error). */
interface SmtpError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  permanent?: boolean;
  command?: string;
}

/**
 * Hands the copy on in socket-sized slices. nodemailer gives a Buffer copy as one chunk, which its
 * SMTP connection would pass to the socket whole, so the message stream would end at once, long
 * before the bytes left; in slices, backpressure holds it until the connection has taken nearly all.
 */
class Slices extends Transform {
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (let start = 0; start < chunk.length; start += SLICE_BYTES) this.push(chunk.subarray(start, start + SLICE_BYTES));
    done();
  }
}

/** What one send has got to: the outermost message stream, once nodemailer has built it. */
interface SendProgress {
  stream?: Readable;
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`delivery.smtp.ca: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The relay's reply without the copy's envelope addresses, which relays like to quote. */
function redact(text: string, copy: OutgoingCopy): string {
  return redactAddresses(text, [
    [copy.to, 'recipient'],
    [copy.from, 'sender'],
  ]);
}

type Pool = ReturnType<typeof buildPool>;

/** Whose outermost message stream is whose: keyed by the envelope object each send makes. */
type Progress = Map<object, SendProgress>;

function buildPool(config: SmtpConfig, port: number, progress: Progress, env: NodeJS.ProcessEnv) {
  const timeoutMs = config.timeoutSeconds * 1000;
  const auth = config.user !== undefined && config.password !== undefined ? { user: config.user, pass: readSecret(config.password, 'delivery.smtp.password', env) } : undefined;
  const transporter = nodemailer.createTransport({
    pool: true,
    maxConnections: config.maxConnections,
    host: config.host,
    port,
    secure: config.tls === 'implicit',
    // starttls refuses a relay that does not offer STARTTLS; none (loopback only) never tries it.
    requireTLS: config.tls === 'starttls',
    ignoreTLS: config.tls === 'none',
    tls: {
      // Never configurable: a copy holds the flagged message whole.
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      ...(config.ca !== undefined ? { ca: [readCa(config.ca)] } : {}),
    },
    ...(auth ? { auth } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    // nodemailer's own log names recipients at info: keep it off.
    logger: false,
  });
  transporter.use('stream', (mail, done) => {
    const entry = mail.data.envelope ? progress.get(mail.data.envelope) : undefined;
    if (entry) {
      mail.message.processFunc((input) => {
        // Called again when the pool re-queues a message whose connection closed before reading it.
        const output = pipeline(input, new Slices(), () => undefined);
        entry.stream = output;
        return output;
      });
    }
    done();
  });
  return transporter;
}

export function createSmtpTransport(config: SmtpConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): CopyTransport {
  const port = config.port ?? DEFAULT_PORTS[config.tls];
  const where = `delivery.smtp (${config.host}:${port})`;
  const progress: Progress = new Map();
  let pool: Pool | undefined;
  /** Built on first use, so an unreadable password or CA file fails the attempt, not the caller. */
  const transporter = (): Pool => (pool ??= buildPool(config, port, progress, env));

  const authProblem = (error: SmtpError): SendOutcome => {
    const reason = error.response ?? error.message;
    logger.error({ code: error.code, responseCode: error.responseCode }, `${where}: the relay refused the login: check delivery.smtp.user and delivery.smtp.password`);
    return { kind: 'temporary', error: `${where} refused the login (check delivery.smtp.user and delivery.smtp.password): ${reason}` };
  };

  const classify = (error: SmtpError, dataSent: boolean, copy: OutgoingCopy): SendOutcome => {
    const fields = { messageId: copy.messageId, code: error.code, responseCode: error.responseCode, command: error.command };
    if (error.code === 'EAUTH' || error.code === 'ENOAUTH' || (error.responseCode !== undefined && AUTH_REPLY_CODES.has(error.responseCode))) return authProblem(error);
    if (error.responseCode !== undefined && error.response !== undefined) {
      const reply = `${redact(error.response, copy)} (${error.command ?? 'SMTP'})`;
      if (!MESSAGE_COMMANDS.has(error.command ?? '')) {
        // Refused before any message was offered (greeting, EHLO, STARTTLS): the relay or our
        // settings are at fault, not this copy, so it stays worth retrying once they are fixed.
        logger.error(fields, `${where} refused the session: check the relay and delivery.smtp`);
        return { kind: 'temporary', error: `${where}: ${reply}` };
      }
      if (error.permanent) {
        logger.warn(fields, 'the relay refused the copy for good');
        return { kind: 'permanent', error: reply };
      }
      logger.warn(fields, 'the relay deferred the copy');
      return { kind: 'temporary', error: reply };
    }
    const reason = `${error.code ?? 'error'}: ${redact(error.message, copy)}`;
    if (dataSent) {
      logger.warn(fields, 'no reply from the relay after the whole copy was sent: it may have been accepted');
      return { kind: 'uncertain', error: `${where}: no reply after the whole message was sent (${reason})` };
    }
    // Refused by nodemailer itself before anything was sent: an address it cannot use, or a copy
    // over the size the relay announced. The same copy would be refused again.
    if ((error.code === 'EENVELOPE' || error.code === 'EMESSAGE') && error.command !== 'CONN') {
      logger.warn(fields, 'the copy cannot be sent to the relay');
      return { kind: 'permanent', error: `${where}: ${reason}` };
    }
    logger.warn(fields, 'the copy did not reach the relay');
    return { kind: 'temporary', error: `${where}: ${reason}` };
  };

  return {
    method: 'smtp',

    async send(copy) {
      let relay: Pool;
      try {
        relay = transporter();
      } catch (error) {
        logger.error({ messageId: copy.messageId }, (error as Error).message);
        return { kind: 'temporary', error: (error as Error).message };
      }
      const envelope = { from: copy.from, to: [copy.to] };
      const entry: SendProgress = {};
      progress.set(envelope, entry);
      try {
        const info = await relay.sendMail({ envelope, raw: copy.raw });
        logger.debug({ messageId: copy.messageId }, 'copy accepted by the relay');
        return { kind: 'sent', response: info.response };
      } catch (error) {
        return classify(error as SmtpError, entry.stream?.readableEnded === true, copy);
      } finally {
        progress.delete(envelope);
      }
    },

    async delivered() {
      return undefined;
    },

    async verify() {
      const relay = transporter();
      try {
        await relay.verify();
      } catch (error) {
        const problem = error as SmtpError;
        if (problem.code === 'EAUTH') {
          throw new Error(`${where}: the relay refused the login (check delivery.smtp.user and delivery.smtp.password): ${problem.response ?? problem.message}`);
        }
        throw new Error(`${where}: ${problem.code ? `${problem.code}: ` : ''}${problem.message}`);
      }
    },

    async close() {
      pool?.close();
      pool = undefined;
    },
  };
}
