/**
 * The copy of a flagged message for the e-safety monitor (clause 7.2.1 of
 * 003_c7be022a1d032c68.txt), and the transports that deliver it. The copier (copier.ts) plans,
 * records and retries deliveries; these types are what it hands to composition and transport.
 */
import type { StoredFlag } from '../flags/store.js';
import type { Severity } from '../scan/types.js';

/** `full` attaches the original; `minimised` gives summary, evidence and link only. */
export type CopyBodyForm = 'full' | 'minimised';

/** This copy goes to the next person on the escalation list because nobody acknowledged the flag. */
export interface EscalationStep {
  /** 1-based position in delivery.escalation.to. */
  step: number;
  of: number;
  afterMinutes: number;
}

/** The headers every Kestrel message carries, so connectors skip it and mail rules can file it. */
export interface KestrelHeaders {
  /** The copy's own Message-ID, `<...>`, fixed before the first attempt and kept on resends. */
  messageId: string;
  /** X-Kestrel-Copy: the signed loop-guard value (connect/copy-guard.ts). */
  copyHeader: string;
}

export interface CopyRequest extends KestrelHeaders {
  flag: StoredFlag;
  form: CopyBodyForm;
  /** A full copy whose original is no longer stored (a bounced copy sent again): say so rather than "this route is minimised". */
  originalReleased?: boolean;
  /** Route names this recipient gets the copy for (`monitor`, `urgent`, ...). */
  routes: string[];
  escalation?: EscalationStep;
  /** The original message, byte for byte; required for `full`. */
  original?: Buffer;
  /** delivery.from */
  from: string;
  to: string;
  /** Link to the flag in the review UI. */
  flagUrl: string;
  trustName: string;
  /** IANA zone for the dates written in the copy (delivery.timeZone). */
  timeZone: string;
  /** The copy's Date header; now by default. */
  date?: Date;
}

/** One flag's line in a digest: nothing about who or what, only what, how bad, where, and a link. */
export interface DigestEntry {
  flagId: number;
  createdAt: Date;
  severity: Severity;
  categories: string[];
  academies: string[];
  url: string;
}

export interface DigestRequest extends KestrelHeaders {
  route: string;
  periodStart: Date;
  periodEnd: Date;
  entries: DigestEntry[];
  from: string;
  to: string;
  /** Link to the review UI's flag list. */
  listUrl: string;
  trustName: string;
  timeZone: string;
  date?: Date;
}

/** The outcome of one delivery attempt, as the copier needs it to decide what happens next. */
export type SendOutcome =
  /** Accepted; `response` is the server's reply (an SMTP queue id), kept on the delivery record. */
  | { kind: 'sent'; response: string }
  /** Not accepted and not harmful to retry: connection refused, 4xx, a dropped connection before the message was sent. */
  | { kind: 'temporary'; error: string }
  /** Refused for good: a 5xx for the recipient or the message. Recorded on the flag, raised to operators. */
  | { kind: 'permanent'; error: string }
  /** The message was sent but no reply came (timeout, dropped connection): the server may have accepted it. */
  | { kind: 'uncertain'; error: string };

export interface OutgoingCopy {
  raw: Buffer;
  /** Envelope sender (delivery.from's address). */
  from: string;
  to: string;
  messageId: string;
}

export interface CopyTransport {
  readonly method: 'smtp' | 'imap';
  /** Never throws for a delivery problem: the outcome says what happened. */
  send(copy: OutgoingCopy): Promise<SendOutcome>;
  /**
   * Whether a copy with this Message-ID is already in the recipient's mailbox: true or false when
   * the transport can look (IMAP), undefined when it cannot (SMTP).
   */
  delivered(to: string, messageId: string): Promise<boolean | undefined>;
  /** Connects and authenticates once, for a startup check; throws with a reason naming the config field. */
  verify(): Promise<void>;
  close(): Promise<void>;
}
