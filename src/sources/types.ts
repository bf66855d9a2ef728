/** What `readMessages` yields: one raw message, or one thing that could not be read. */

export interface RawMessage {
  file: string;
  /** 1-based position inside an mbox; absent for a file (or stdin) holding a single message. */
  index?: number;
  raw: Buffer;
}

/** An unreadable file, a permission problem, an oversize message, and the like. */
export interface SourceFailure {
  file: string;
  index?: number;
  error: string;
}

export type SourceItem = RawMessage | SourceFailure;

export interface ReadOptions {
  /** Read for the path `-`; defaults to `process.stdin`. */
  stdin?: NodeJS.ReadableStream;
  /** Largest message that is buffered whole; defaults to 50 MiB. */
  maxMessageBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 50 * 1024 * 1024;

/** The file name reported for messages read from stdin. */
export const STDIN_PATH = '-';

export function isFailure(item: SourceItem): item is SourceFailure {
  return 'error' in item;
}

export function failure(file: string, error: string, index?: number): SourceFailure {
  return index === undefined ? { file, error } : { file, index, error };
}
