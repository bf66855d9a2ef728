/**
 * Who gets a copy of a new flag, and in what form, from the routes it triggered: each route's
 * `to`, plus the academy addresses of the academies the message's parties belong to. One delivery
 * per recipient however many routes name them; the fuller form wins (a monitor on a minimised
 * route and a full one gets the original).
 */
import { randomUUID } from 'node:crypto';
import { senderAddressOf } from '../config/delivery-schema.js';
import type { KestrelConfig } from '../config/schema.js';
import type { Outbox, PlannedDelivery } from '../flags/types.js';
import type { ScanReport } from '../scan/pipeline.js';
import { sealOriginal } from './keys.js';

/** The address part of delivery.from, which the config check has made sure of. */
export function senderAddress(from: string): string {
  const address = senderAddressOf(from);
  if (address === undefined) throw new Error(`delivery.from: "${from}" is not an address`);
  return address;
}

/** A Message-ID under the sender's domain, fixed when the delivery is recorded. */
export function newCopyMessageId(from: string): string {
  const address = senderAddress(from);
  return `<kestrel.${randomUUID()}@${address.slice(address.lastIndexOf('@') + 1)}>`;
}

function academiesOf(report: ScanReport): Set<string> {
  const parties = [report.from, ...(report.recipients ?? [])];
  return new Set(parties.map((p) => p?.academy).filter((a): a is string => a !== undefined));
}

export function planDeliveries(report: ScanReport, config: Pick<KestrelConfig, 'routes' | 'delivery'>): PlannedDelivery[] {
  const academies = academiesOf(report);
  const byRecipient = new Map<string, PlannedDelivery>();
  for (const name of report.routes) {
    const route = config.routes[name];
    if (!route || (route.copy !== 'full' && route.copy !== 'minimised')) continue;
    const recipients = [...route.to, ...Object.entries(route.academies).flatMap(([academy, addresses]) => (academies.has(academy) ? addresses : []))];
    for (const recipient of recipients.map((r) => r.toLowerCase())) {
      const planned = byRecipient.get(recipient);
      if (planned) {
        if (!planned.routes.includes(name)) planned.routes.push(name);
        if (route.copy === 'full') planned.form = 'full';
        continue;
      }
      byRecipient.set(recipient, { recipient, routes: [name], form: route.copy, messageId: newCopyMessageId(config.delivery.from!) });
    }
  }
  return [...byRecipient.values()];
}

/** The outbox of a new flag, or undefined when it owes nobody a copy. */
export function planOutbox(report: ScanReport, raw: Buffer, config: Pick<KestrelConfig, 'routes' | 'delivery'>, originalKey: Buffer): Outbox | undefined {
  if (!report.flagged) return undefined;
  const deliveries = planDeliveries(report, config);
  const { escalation } = config.delivery;
  const escalates = report.urgent && escalation.to.length > 0;
  if (deliveries.length === 0 && !escalates) return undefined;
  const needsOriginal = escalates || deliveries.some((d) => d.form === 'full');
  return {
    deliveries,
    dueInMs: config.delivery.settleSeconds * 1000,
    ...(needsOriginal ? { sealedOriginal: sealOriginal(raw, originalKey) } : {}),
    ...(escalates ? { escalateAfterMs: escalation.afterMinutes * 60_000 } : {}),
  };
}
