/**
 * Scans a stream of source items through a pool, keeping input order and a bounded number of
 * messages in flight. Every item yields exactly one line: a report or an error, never nothing.
 */
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

/** Yields one line per item in input order; at most `inFlight` messages are held at once. */
export async function* scanItems(items: AsyncIterable<SourceItem>, pool: ScanPool, inFlight: number): AsyncGenerator<ScanLine> {
  const pending: Array<Promise<ScanLine>> = [];
  for await (const item of items) {
    pending.push(scanItem(item, pool));
    if (pending.length >= inFlight) yield await pending.shift()!;
  }
  while (pending.length > 0) yield await pending.shift()!;
}
