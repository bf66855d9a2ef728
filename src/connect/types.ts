/** What a connector hands on: one message from one mailbox folder, and where it came from. */

/** Which side of the conversation a folder holds; a journal folder holds both. */
export type FolderRole = 'inbox' | 'sent' | 'journal' | 'other';

/** The real sender and recipients from a journal report (they include Bcc, which headers hide). */
export interface JournalEnvelope {
  sender?: string;
  recipients: string[];
}

/** One mailbox a message was seen in. UIDVALIDITY is a string: it may not fit a JS number's 53 bits in JSON round trips. */
export interface MailboxPosition {
  account: string;
  folder: string;
  uidValidity: string;
  uid: number;
}

export interface FetchedMessage extends MailboxPosition {
  role: FolderRole;
  /** The message as the server stores it (for a journal report: the wrapped original). */
  raw: Buffer;
  /** The server's INTERNALDATE, ISO 8601. */
  receivedAt?: string;
  envelope?: JournalEnvelope;
  /** Parts left behind because the message was over `queue.maxMessageBytes`: the scan records them. */
  skippedParts?: Array<{ contentType: string; size: number }>;
}

/**
 * Where a connector delivers messages: the queue in a cluster, the in-process pipeline in
 * embedded mode. `accept` resolves once the message is safe (queued, or scanned and recorded);
 * only then does the connector advance its checkpoint past it.
 */
export interface MessageSink {
  accept(message: FetchedMessage): Promise<void>;
  /** True while the connector should stop fetching (the queue is above its high-water mark). */
  saturated(): Promise<boolean>;
}
