/**
 * The transport for each recipient: the IMAP destination listed for the address under
 * delivery.imap, otherwise the SMTP relay (one pool shared by every recipient). Transports are
 * opened on first use; verify() opens and checks them all, for a startup check.
 */
import type { DeliveryConfig } from '../../config/delivery-schema.js';
import type { Logger } from '../../log.js';
import type { CopyTransport } from '../types.js';
import { createImapAppendTransport } from './imap-append.js';
import { createSmtpTransport } from './smtp.js';

export interface CopyTransports {
  /** The transport for this recipient; throws when the config gives no way to reach it. */
  for(address: string): CopyTransport;
  /** Connects and logs in to every configured transport; throws naming each one that failed. */
  verify(): Promise<void>;
  close(): Promise<void>;
}

export function openCopyTransports(delivery: DeliveryConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): CopyTransports {
  const log = logger.child({ component: 'copy-transport' });
  const imap = new Map<string, CopyTransport>();
  let smtp: CopyTransport | undefined;
  let closed = false;

  const imapTransport = (index: number): CopyTransport => {
    const destination = delivery.imap[index]!;
    let transport = imap.get(destination.address);
    if (!transport) {
      transport = createImapAppendTransport(destination, log, { field: `delivery.imap[${index}]`, env });
      imap.set(destination.address, transport);
    }
    return transport;
  };

  const smtpTransport = (): CopyTransport | undefined => {
    if (delivery.smtp) smtp ??= createSmtpTransport(delivery.smtp, log, env);
    return smtp;
  };

  const transportFor = (address: string): CopyTransport => {
    if (closed) throw new Error('copy transports are closed');
    const wanted = address.trim().toLowerCase();
    const index = delivery.imap.findIndex((destination) => destination.address === wanted);
    if (index >= 0) return imapTransport(index);
    const relay = smtpTransport();
    // No address in the message: errors reach logs above debug level.
    if (!relay) throw new Error('no way to deliver to this recipient: delivery.smtp is not set and delivery.imap does not list the address');
    return relay;
  };

  return {
    for: transportFor,

    async verify() {
      const checks: Array<Promise<void>> = delivery.imap.map((_, index) => imapTransport(index).verify());
      const relay = smtpTransport();
      if (relay) checks.push(relay.verify());
      const failures = (await Promise.allSettled(checks)).flatMap((result) => (result.status === 'rejected' ? [(result.reason as Error).message] : []));
      if (failures.length > 0) throw new Error(failures.join('; '));
    },

    async close() {
      closed = true;
      const open = [...imap.values(), ...(smtp ? [smtp] : [])];
      imap.clear();
      smtp = undefined;
      await Promise.all(open.map((transport) => transport.close()));
    },
  };
}
