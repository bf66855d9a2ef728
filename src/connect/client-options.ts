/**
 * imapflow options for one account: the TLS mode, certificate checks that cannot be turned off (an
 * extra CA for a trust's own server instead), bounded timeouts, and imapflow's log routed to pino at
 * trace without protocol lines (they carry subjects, addresses and bodies).
 */
import { readFileSync } from 'node:fs';
import type { AuthOptions, ImapFlowOptions, Logger as ImapLogger } from 'imapflow';
import type { AccountConfig } from '../config/operations-schema.js';
import type { Logger } from '../log.js';

const DEFAULT_PORTS = { implicit: 993, starttls: 143, none: 143 } as const;

const CONNECTION_TIMEOUT_MS = 30_000;
const GREETING_TIMEOUT_MS = 16_000;
/** How long a silent socket may stay silent before imapflow checks it with a NOOP, and then gives up. */
const SOCKET_TIMEOUT_MS = 2 * 60_000;

/** The account's extra CA certificate (PEM), read at each connect so a renewed file is picked up. */
export function readAccountCa(account: AccountConfig): string | undefined {
  if (account.ca === undefined) return undefined;
  try {
    return readFileSync(account.ca, 'utf8');
  } catch (error) {
    throw new Error(`account "${account.id}": ca: cannot read ${account.ca} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

export interface ClientOptionsInput {
  account: AccountConfig;
  auth: AuthOptions;
  ca?: string | undefined;
  logger: Logger;
}

export function imapClientOptions(input: ClientOptionsInput): ImapFlowOptions {
  const { account } = input;
  const tls = {
    // Never configurable: a school's mail must not be readable by whoever sits on the path.
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2' as const,
    ...(input.ca !== undefined ? { ca: [input.ca] } : {}),
  };
  return {
    host: account.host,
    port: account.port ?? DEFAULT_PORTS[account.tls],
    secure: account.tls === 'implicit',
    // doSTARTTLS true makes the upgrade mandatory (a server without STARTTLS is refused);
    // false keeps a loopback test server in clear, which the config allows only for loopback.
    doSTARTTLS: account.tls === 'starttls',
    tls,
    auth: input.auth,
    clientInfo: { name: 'Kestrel', vendor: 'Kestrel e-safety scanner' },
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    // IDLE starts on its own a second after the last command and is restarted periodically:
    // servers end IDLE after about 30 minutes.
    autoIdleDelay: 1_000,
    maxIdleTime: 10 * 60_000,
    logger: imapLogger(input.logger, account.id),
  };
}

/** imapflow's entries at trace, without protocol lines or error payloads (both can hold mail content). */
export function imapLogger(logger: Logger, account: string): ImapLogger {
  const forward = (entry: unknown) => {
    if (!logger.isLevelEnabled('trace') || typeof entry !== 'object' || entry === null) return;
    const record = entry as { src?: unknown; msg?: unknown; cid?: unknown; err?: { code?: unknown } };
    if (record.src !== undefined) return;
    logger.trace({ account, cid: record.cid, errorCode: record.err?.code }, typeof record.msg === 'string' ? `imapflow: ${record.msg}` : 'imapflow');
  };
  return { trace: forward, debug: forward, info: forward, warn: forward, error: forward, fatal: forward };
}
