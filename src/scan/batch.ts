/**
 * Scans a stream of source items through a pool, keeping input order and a bounded number of
 * messages in flight. Every item yields exactly one line: a report or an error, never nothing.
 */
import type { Logger } from '../log.js';
import { isFailure, type SourceItem } from '../sources/index.js';
import type { ScanReport } from './pipeline.js';
import { ScanLimitError, type ScanPool } from './pool.js';

interface Origin {
  file: string;
  index?: number;
}

export type ScanErrorKind = 'unreadable' | 'malformed' | 'limit';

export type ScanLine = (Origin & ScanReport) | (Origin & { error: string; errorKind: ScanErrorKind });

export function isErrorLine(line: ScanLine): line is Origin & { error: string; errorKind: ScanErrorKind } {
  return 'error' in line;
}

function origin(item: SourceItem): Origin {
  return item.index === undefined ? { file: item.file } : { file: item.file, index: item.index };
}

async function scanItem(item: SourceItem, pool: ScanPool): Promise<ScanLine> {
  if (isFailure(item)) return { ...origin(item), error: item.error, errorKind: 'unreadable' };
  try {
    return { ...origin(item), ...(await pool.scan(item.raw)) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ...origin(item), error: message, errorKind: error instanceof ScanLimitError ? 'limit' : 'malformed' };
  }
}

/** Operators need to know a message went unscanned; the path and reason say which, never its content. */
function logFailure(line: ScanLine, log: Logger): void {
  if (isErrorLine(line)) log.warn({ file: line.file, index: line.index, kind: line.errorKind, reason: line.error }, 'message not scanned');
}

/** Yields one line per item in input order; at most `inFlight` messages are held at once. */
export async function* scanItems(items: AsyncIterable<SourceItem>, pool: ScanPool, inFlight: number, log: Logger): AsyncGenerator<ScanLine> {
  const pending: Array<Promise<ScanLine>> = [];
  const next = async (): Promise<ScanLine> => {
    const line = await pending.shift()!;
    logFailure(line, log);
    return line;
  };
  for await (const item of items) {
    pending.push(scanItem(item, pool));
    if (pending.length >= inFlight) yield await next();
  }
  while (pending.length > 0) yield await next();
}
