/**
 * Prometheus metrics for connectors, workers and embedded mode. One registry per process; labels
 * carry account ids and categories, never addresses or message content.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The states a connector reports per account (gauge value 1 for the current state, 0 otherwise). */
export const CONNECTOR_STATES = ['connecting', 'syncing', 'idle', 'paused', 'backoff', 'released', 'failed'] as const;
export type ConnectorState = (typeof CONNECTOR_STATES)[number];

export interface KestrelMetrics {
  registry: Registry;
  /** Messages fetched from a mailbox and handed to the sink, by account. */
  fetched: Counter<'account'>;
  /** Messages scanned (not counting ones skipped as already scanned), by outcome: clean, flagged, failed. */
  scanned: Counter<'outcome'>;
  /** Messages seen again in another mailbox and recorded without a second scan. */
  deduplicated: Counter;
  /** Flagged messages per category (a message with two categories counts in both). */
  flagged: Counter<'category'>;
  /** Seconds from a message's arrival in a sink to its recorded verdict. */
  scanLatency: Histogram;
  /** Jobs waiting, active, delayed and failed in the scan queue (cluster mode). */
  queueDepth: Gauge<'state'>;
  connectorState: Gauge<'account' | 'state'>;
  /** Connection failures per account, including refused logins. */
  connectorErrors: Counter<'account'>;
  setConnectorState(account: string, state: ConnectorState): void;
  /** Copy delivery attempts by outcome: sent, retry, uncertain, failed (permanent or out of attempts), confirmed (seen in a watched mailbox), bounced (a bounce came back after acceptance). */
  copies: Counter<'outcome'>;
  /** Deliveries not yet sent, by status (pending, sending, uncertain, failed): failed > 0 needs an operator. */
  deliveries: Gauge<'status'>;
  /** Findings a reviewer's suppression dropped (counted by the process that recorded the scan). */
  findingsSuppressed: Counter;
  /** Messages kept under a targeted-monitoring authorisation. */
  retained: Counter;
  /** Messages an authorisation covered that could not be kept (each is logged). */
  retainFailures: Counter;
}

export function createMetrics(): KestrelMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kestrel_' });
  const connectorState = new Gauge({ name: 'kestrel_connector_state', help: 'Connector state per account (1 = current state)', labelNames: ['account', 'state'] as const, registers: [registry] });
  return {
    registry,
    fetched: new Counter({ name: 'kestrel_messages_fetched_total', help: 'Messages fetched from mailboxes', labelNames: ['account'] as const, registers: [registry] }),
    scanned: new Counter({ name: 'kestrel_messages_scanned_total', help: 'Messages scanned, by outcome', labelNames: ['outcome'] as const, registers: [registry] }),
    deduplicated: new Counter({ name: 'kestrel_messages_deduplicated_total', help: 'Messages already scanned, seen again in another mailbox', registers: [registry] }),
    flagged: new Counter({ name: 'kestrel_messages_flagged_total', help: 'Flagged messages per category', labelNames: ['category'] as const, registers: [registry] }),
    scanLatency: new Histogram({
      name: 'kestrel_scan_latency_seconds',
      help: 'Seconds from a message reaching the queue (or the embedded pipeline) to its recorded verdict',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'kestrel_queue_jobs', help: 'Scan queue jobs by state', labelNames: ['state'] as const, registers: [registry] }),
    connectorState,
    connectorErrors: new Counter({ name: 'kestrel_connector_errors_total', help: 'Connection and login failures per account', labelNames: ['account'] as const, registers: [registry] }),
    copies: new Counter({ name: 'kestrel_copies_total', help: 'Copy delivery attempts by outcome', labelNames: ['outcome'] as const, registers: [registry] }),
    deliveries: new Gauge({ name: 'kestrel_deliveries', help: 'Copies not yet delivered, by status (failed needs an operator)', labelNames: ['status'] as const, registers: [registry] }),
    findingsSuppressed: new Counter({ name: 'kestrel_findings_suppressed_total', help: "Findings dropped by a reviewer's suppression", registers: [registry] }),
    retained: new Counter({ name: 'kestrel_messages_retained_total', help: 'Messages kept under a targeted-monitoring authorisation', registers: [registry] }),
    retainFailures: new Counter({ name: 'kestrel_retain_failures_total', help: 'Messages under a targeted-monitoring authorisation that could not be kept', registers: [registry] }),
    setConnectorState(account, state) {
      for (const s of CONNECTOR_STATES) connectorState.set({ account, state: s }, s === state ? 1 : 0);
    },
  };
}
