/**
 * Structured logs (pino) on stderr, so stdout stays clean JSONL. Never log message bodies,
 * addresses or evidence above debug level: operators read these logs, not only safeguarding staff.
 */
import { pino, type Logger } from 'pino';
import type { KestrelConfig } from './config/schema.js';

export type { Logger };

export function createLogger(config: KestrelConfig, name = 'kestrel'): Logger {
  return pino({ name, level: config.log.level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
