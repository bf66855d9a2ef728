/**
 * Copies by IMAP APPEND into a folder of the recipient's own mailbox, for a monitor whose trust
 * lets Kestrel hold a login to it rather than relay mail. One transport per destination address:
 * one connection, opened on first use, checked with a NOOP before each copy (an idle connection
 * can die quietly) and opened afresh after it closed, since a closed ImapFlow cannot be reused.
 * Operations take turns on the connection. The folder is created when missing; copies are
 * appended without \Seen, so they show as unread.
 *
 * Outcomes of an APPEND:
 * - tagged OK: sent.
 * - the connection failed before the command could be written (imapflow says where it refused:
 *   no socket, client closed): temporary; so is any failure to connect, log in or make the folder.
 * - the connection failed or timed out after the command was written and before its tagged reply:
 *   uncertain, the server may have stored the message.
 * - NO [TRYCREATE]: the folder went away; it is created again and the copy appended once more.
 * - NO [TOOBIG], a size over the server's APPENDLIMIT, NO [CANNOT], or BAD: permanent, the same
 *   copy would be refused again.
 * - NO [OVERQUOTA], [LIMIT], [NOPERM] or any other NO: temporary, a full mailbox can be emptied
 *   and a permission granted; the copier gives up after delivery.attempts and raises it.
 */
import { ImapFlow } from 'imapflow';
import type { ImapDestination } from '../../config/delivery-schema.js';
import type { AccountConfig } from '../../config/operations-schema.js';
import { imapClientOptions, readAccountCa } from '../../connect/client-options.js';
import { accountCredentials } from '../../connect/credentials.js';
import type { Logger } from '../../log.js';
import { redactAddresses } from './redact.js';
import type { CopyTransport, SendOutcome } from '../types.js';

const DEFAULT_PORTS = { implicit: 993, starttls: 143, none: 143 } as const;

/** Where imapflow refuses a command before writing it: nothing reached the server. */
const NOT_SENT = new Set(['noSocket', 'execClosed', 'execNoSocket', 'writeNoSocket', 'sendAfterLogout']);

/** Refusals the same copy would meet again. */
const PERMANENT_CODES = new Set(['TOOBIG', 'APPENDLIMIT', 'CANNOT']);

/** What imapflow puts on its errors. */
interface ImapError extends Error {
  code?: string;
  rejectedFrom?: string;
  command?: string;
  responseStatus?: string;
  responseText?: string;
  serverResponseCode?: string;
  authenticationFailed?: boolean;
}

export interface ImapAppendOptions {
  /** How errors and logs name this destination: `delivery.imap[0]`. */
  field?: string;
  env?: NodeJS.ProcessEnv;
}

/** Could not get a connection ready for a copy: nothing was sent. */
class SetupError extends Error {
  override name = 'SetupError';
}

/** The connection helpers take an account; a destination has the same server fields. */
function asAccount(destination: ImapDestination, field: string): AccountConfig {
  const { address: _address, folder, ...server } = destination;
  return { ...server, id: field, folders: [folder], journal: false, pollSeconds: 60 };
}

/** The server's words, without the mailbox's address or login name (servers quote them). */
function explain(error: ImapError, destination: ImapDestination): string {
  const parts = [error.code, error.serverResponseCode && `[${error.serverResponseCode}]`, error.responseText ?? error.message].filter(Boolean);
  return redactAddresses(parts.join(' '), [
    [destination.address, 'recipient'],
    [destination.user, 'user'],
  ]);
}

interface Session {
  client: ImapFlow;
  /** Epoch ms after which the login (an OAuth2 token) must be renewed. */
  renewAt?: number | undefined;
}

export function createImapAppendTransport(destination: ImapDestination, logger: Logger, options: ImapAppendOptions = {}): CopyTransport {
  const field = options.field ?? 'delivery.imap';
  const account = asAccount(destination, field);
  const credentials = accountCredentials(account, options.env);
  const where = `${field} (${destination.host}:${destination.port ?? DEFAULT_PORTS[destination.tls]})`;
  const folder = destination.folder;
  const loginFields = destination.oauth2 ? `${field}.user and ${field}.oauth2` : `${field}.user and ${field}.password`;
  let session: Session | undefined;
  let turn: Promise<unknown> = Promise.resolve();

  /** Runs one operation at a time on the connection. */
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const run = turn.then(task, task);
    turn = run.catch(() => undefined);
    return run;
  };

  const discard = () => {
    session?.client.close();
    session = undefined;
  };

  const ensureFolder = async (client: ImapFlow) => {
    try {
      if ((await client.mailboxCreate(folder)).created) logger.info({ destination: field, folder }, 'created the copy folder');
    } catch (error) {
      // A server that answers an existing folder with a bare NO rather than [ALREADYEXISTS].
      if ((error as ImapError).responseStatus !== 'NO' || (await client.status(folder, { messages: true }).catch(() => false)) === false) throw error;
    }
  };

  const connect = async (): Promise<ImapFlow> => {
    const login = await credentials.login();
    const client = new ImapFlow({ ...imapClientOptions({ account, auth: login.auth, ca: readAccountCa(account), logger }), disableAutoIdle: true });
    client.on('error', (error: ImapError) => logger.debug({ destination: field, code: error.code }, 'IMAP connection error'));
    client.on('close', () => {
      if (session?.client === client) session = undefined;
    });
    try {
      await client.connect();
    } catch (error) {
      const problem = error as ImapError;
      if (problem.authenticationFailed) {
        credentials.refused();
        logger.error({ destination: field, code: problem.serverResponseCode }, `${where}: the server refused the login: check ${loginFields}`);
        throw new SetupError(`${where} refused the login (check ${loginFields}): ${explain(problem, destination)}`);
      }
      throw new SetupError(`${where}: cannot connect: ${explain(problem, destination)}`);
    }
    try {
      await ensureFolder(client);
    } catch (error) {
      client.close();
      logger.error({ destination: field, code: (error as ImapError).serverResponseCode }, `${where}: cannot create the copy folder: check ${field}.folder`);
      throw new SetupError(`${where}: cannot create the folder ${folder} (${field}.folder): ${explain(error as ImapError, destination)}`);
    }
    session = { client, renewAt: login.renewAt };
    return client;
  };

  /** The open connection, checked, or a new one. */
  const open = async (): Promise<ImapFlow> => {
    const current = session;
    if (current && current.client.usable && (current.renewAt === undefined || Date.now() < current.renewAt)) {
      try {
        await current.client.noop();
        if (current.client.usable) return current.client;
      } catch {
        // Dead: a new connection below.
      }
    }
    discard();
    try {
      return await connect();
    } catch (error) {
      if (error instanceof SetupError) throw error;
      // A secret that cannot be read, a CA file that is missing: the message names the field.
      throw new SetupError(`${where}: ${(error as Error).message}`);
    }
  };

  const append = async (client: ImapFlow, raw: Buffer, messageId: string, retryMissingFolder: boolean): Promise<SendOutcome> => {
    try {
      // No flags: the copy arrives unread.
      const result = await client.append(folder, raw);
      if (!result) return { kind: 'temporary', error: `${where}: not logged in; the copy was not sent` };
      logger.debug({ destination: field, messageId, uid: result.uid }, 'copy appended');
      return { kind: 'sent', response: `appended to ${folder}${result.uid !== undefined ? ` as UID ${result.uid}` : ''}` };
    } catch (error) {
      const problem = error as ImapError;
      const fields = { destination: field, messageId, code: problem.code, status: problem.responseStatus, responseCode: problem.serverResponseCode };
      const reason = `${where}: APPEND ${explain(problem, destination)}`;
      const code = problem.serverResponseCode?.toUpperCase();
      if (problem.responseStatus === 'NO' && code === 'TRYCREATE' && retryMissingFolder) {
        await ensureFolder(client);
        return append(client, raw, messageId, false);
      }
      if (problem.responseStatus === 'BAD' || (code !== undefined && PERMANENT_CODES.has(code))) {
        logger.warn(fields, 'the server refused the copy for good');
        return { kind: 'permanent', error: reason };
      }
      if (problem.responseStatus === 'NO') {
        logger.warn(fields, 'the server refused the copy for now');
        return { kind: 'temporary', error: reason };
      }
      discard();
      if (problem.rejectedFrom !== undefined && NOT_SENT.has(problem.rejectedFrom)) {
        logger.warn(fields, 'the connection closed before the copy was sent');
        return { kind: 'temporary', error: reason };
      }
      logger.warn(fields, 'no reply to APPEND after the copy was sent: it may have been stored');
      return { kind: 'uncertain', error: `${reason} (after the message was sent)` };
    }
  };

  return {
    method: 'imap',

    send(copy) {
      return exclusive(async () => {
        let client: ImapFlow;
        try {
          client = await open();
        } catch (error) {
          logger.warn({ destination: field, messageId: copy.messageId }, 'no IMAP connection for the copy');
          return { kind: 'temporary', error: (error as Error).message };
        }
        try {
          return await append(client, copy.raw, copy.messageId, true);
        } catch (error) {
          // Making the folder again after [TRYCREATE] failed: the APPEND was refused, nothing stored.
          discard();
          return { kind: 'temporary', error: `${where}: ${explain(error as ImapError, destination)}` };
        }
      });
    },

    delivered(_to, messageId) {
      return exclusive(async () => {
        try {
          const client = await open();
          const lock = await client.getMailboxLock(folder, { readOnly: true });
          try {
            const found = await client.search({ header: { 'message-id': messageId } }, { uid: true });
            return Array.isArray(found) && found.length > 0;
          } finally {
            lock.release();
            // Nothing stays selected, so an APPEND never waits on updates for the folder.
            await client.mailboxClose().catch(() => undefined);
          }
        } catch (error) {
          logger.warn({ destination: field, messageId, error: explain(error as ImapError, destination) }, 'cannot look for the copy in the folder');
          return undefined;
        }
      });
    },

    verify() {
      return exclusive(async () => {
        await open();
      });
    },

    close() {
      return exclusive(async () => {
        const current = session;
        session = undefined;
        if (current) await current.client.logout().catch(() => current.client.close());
      });
    },
  };
}
