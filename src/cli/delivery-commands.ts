/**
 * Operators' and monitors' commands on the delivery records, beside the review UI (a running
 * cluster, or a stopped embedded store):
 * `kestrel flags ack ID` stops an urgent flag's escalation, `kestrel deliveries` lists copies not
 * yet delivered with the reason, `kestrel deliveries retry ID` sends a failed one again.
 */
import type { KestrelConfig } from '../config/schema.js';
import type { Delivery, DeliveryStatus } from '../flags/deliveries.js';
import { EXIT, UsageError } from './errors.js';
import type { CliIo } from './io.js';
import { withStore } from './with-store.js';


function id(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what} expects a number, got ${text === undefined ? 'nothing' : `"${text}"`}`);
  return n;
}

export async function runAcknowledge(config: KestrelConfig, args: { flag: string | undefined; by: string | undefined }, io: CliIo): Promise<number> {
  const flagId = id(args.flag, 'flags ack');
  const by = args.by ?? process.env.USER ?? 'command line';
  const found = await withStore(config, io, (store) => store.acknowledge(flagId, by));
  if (!found) {
    io.stderr.write(`kestrel: there is no flag ${flagId}\n`);
    return EXIT.usage;
  }
  io.stdout.write(`flag ${flagId} acknowledged by ${by}: its escalation has stopped\n`);
  return EXIT.ok;
}

function line(d: Delivery): string {
  const subject = d.flagId !== null ? `flag ${d.flagId}` : `digest ${d.digestId}`;
  return [String(d.id).padEnd(8), d.status.padEnd(10), subject.padEnd(14), String(d.attempts).padEnd(9), d.routes.join(',').padEnd(16), d.lastError ?? ''].join(' ').trimEnd();
}

export async function runDeliveries(config: KestrelConfig, args: { failed: boolean; json: boolean }, io: CliIo): Promise<number> {
  const statuses: DeliveryStatus[] = args.failed ? ['failed'] : ['failed', 'uncertain', 'sending', 'pending'];
  const rows = await withStore(config, io, async (store) => (await Promise.all(statuses.map((status) => store.deliveries({ status, limit: 500 })))).flat());
  if (args.json) {
    for (const d of rows) io.stdout.write(`${JSON.stringify(d)}\n`);
    return EXIT.ok;
  }
  if (rows.length === 0) {
    io.stdout.write(args.failed ? 'no failed copies\n' : 'every copy is delivered\n');
    return EXIT.ok;
  }
  io.stdout.write(`${['DELIVERY', 'STATUS    ', 'FOR           ', 'ATTEMPTS ', 'ROUTES          ', 'LAST ERROR'].join(' ')}\n`);
  for (const d of rows) io.stdout.write(`${line(d)}\n`);
  return EXIT.ok;
}

export async function runRetryDelivery(config: KestrelConfig, args: { delivery: string | undefined }, io: CliIo): Promise<number> {
  const deliveryId = id(args.delivery, 'deliveries retry');
  const retried = await withStore(config, io, (store) => store.retryDelivery(deliveryId));
  if (!retried) {
    io.stderr.write(`kestrel: delivery ${deliveryId} is not a failed delivery\n`);
    return EXIT.usage;
  }
  io.stdout.write(`delivery ${deliveryId} will be sent again by the copier\n`);
  return EXIT.ok;
}
