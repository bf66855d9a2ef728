/** The durable record: checkpoints, and one flag per distinct message with all its occurrences. */
import type { MailboxPosition } from '../connect/types.js';
import type { ScanReport } from '../scan/pipeline.js';

/** How far a connector has read one folder in one UIDVALIDITY epoch. */
export interface Checkpoint {
  uidValidity: string;
  /** Every message with a UID up to this one is safely queued or scanned. */
  lastUid: number;
  /** CONDSTORE's HIGHESTMODSEQ when the server has it. */
  highestModseq?: string;
}

export interface CheckpointStore {
  checkpoint(account: string, folder: string): Promise<Checkpoint | null>;
  /** Never moves backwards within one UIDVALIDITY; a new UIDVALIDITY replaces the old epoch. */
  advanceCheckpoint(account: string, folder: string, checkpoint: Checkpoint): Promise<void>;
}

export interface Occurrence extends MailboxPosition {
  seenAt: Date;
}

/** What is already known about a message key. */
export type PriorScan = { flagId: number } | { flagId: null } | null;

export interface RecordResult {
  flagId: number | null;
  /** False when another worker recorded the same message first (its verdict stands). */
  created: boolean;
  /** Deliveries written with a new flag (its outbox), to be handed to the copier. */
  deliveries: number[];
}

/** One copy to send for a new flag: written in the flag's transaction, before anything is sent. */
export interface PlannedDelivery {
  /** Lower case; one delivery per (flag, recipient) however many routes name them. */
  recipient: string;
  routes: string[];
  form: 'full' | 'minimised';
  /** The copy's Message-ID, fixed now so that every attempt sends the same one. */
  messageId: string;
}

/** What a new flag must set in motion, recorded atomically with it (a transactional outbox). */
export interface Outbox {
  deliveries: PlannedDelivery[];
  /** The original, sealed, kept while a full copy may still be sent (including by escalation). */
  sealedOriginal?: Buffer;
  /** The copies are due this long after the flag is recorded (0: at once). */
  dueInMs?: number;
  /** For an urgent flag with an escalation list: escalate when unacknowledged this long. */
  escalateAfterMs?: number;
}

export interface FlagStore extends CheckpointStore {
  /** Runs pending migrations; safe to call from many processes at once. */
  migrate(): Promise<void>;
  /** Null: never scanned. `{ flagId: null }`: scanned and clean. */
  priorScan(messageKey: string): Promise<PriorScan>;
  /**
   * Records a scan: the message key (clean or not), and for a flagged report the flag, its
   * findings, this occurrence and its outbox. Idempotent per message key and per mailbox.
   */
  recordScan(messageKey: string, occurrence: Occurrence, report: ScanReport, outbox?: Outbox): Promise<RecordResult>;
  /**
   * Records that a message could not be scanned after its last attempt (the reason names the
   * limit or error, never content). A later successful scan of the same key clears it.
   */
  recordFailure(messageKey: string, occurrence: Occurrence, reason: string): Promise<void>;
  /** Adds a mailbox to an existing flag; false when that mailbox was already recorded. */
  addOccurrence(flagId: number, occurrence: Occurrence): Promise<boolean>;
  close(): Promise<void>;
}
