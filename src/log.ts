/**
 * Structured logs (pino) on stderr, so stdout stays clean JSONL. Never log message bodies,
 * addresses or evidence above debug level: operators read these logs, not only safeguarding staff.
 */
import { pino, type Logger } from 'pino';
import type { KestrelConfig } from './config/schema.js';

export type { Logger };

/** Logs go to `destination`, or synchronously to the process's stderr. */
export function createLogger(config: KestrelConfig, destination?: NodeJS.WritableStream): Logger {
  return pino({ name: 'kestrel', level: config.log.level, base: { pid: process.pid } }, destination ?? pino.destination({ fd: 2, sync: true }));
}
