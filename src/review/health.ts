/**
 * The pipeline's health as the review UI shows it: queue counts, failed jobs and connectors. A
 * cluster reads them from Redis (BullMQ queues, connector leases); embedded mode has no queues and
 * reports its own connectors. Counts, states and reasons only: never message content.
 */
export interface QueueCounts {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

export interface FailedJob {
  queue: string;
  id: string;
  /** BullMQ's failedReason: an error message, never message content. */
  reason: string;
  attempts: number;
  failedAt: Date | null;
}

export interface ConnectorState {
  account: string;
  /** Who holds the account's lease (a connector's id), or this process in embedded mode. */
  holder: string | null;
  /** Folders with their checkpoint's last UID and when it last moved. */
  folders: Array<{ folder: string; lastUid: number; updatedAt: Date }>;
}

export interface PipelineHealth {
  /** Empty in embedded mode (no queues). */
  queues(): Promise<QueueCounts[]>;
  failedJobs(queue: string, limit: number): Promise<FailedJob[]>;
  /** False when the job is gone or not failed. */
  retryJob(queue: string, id: string): Promise<boolean>;
  connectors(): Promise<ConnectorState[]>;
  close(): Promise<void>;
}
