/** Shared by the queue tests: configs, messages and waiting on real servers. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { pino, type Logger } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import type { FetchedMessage } from '../../src/connect/types.js';
import { SCAN_QUEUE } from '../../src/queue/connection.js';
import { waitFor } from '../helpers/wait.js';

export const MARKER = 'quokkamarker';
export const SENDER = 'quokka.sender@oakfield.sch.uk';
export const FLAGGED_BODY = `honestly i just want to kill myself ${MARKER}`;
export const CLEAN_BODY = `Please bring a packed lunch for the trip on Friday. ${MARKER}`;

export function newKey(): string {
  return randomBytes(32).toString('base64');
}

let prefixes = 0;

/** Each test gets its own key prefix, so its queue starts empty in a shared redis-server. */
export function uniquePrefix(): string {
  return `kt${process.pid}-${++prefixes}`;
}

export interface QueueTestConfig {
  redisUrl: string;
  key: string;
  prefix: string;
  dataDir?: string;
  /** Extra YAML (whole top-level sections). */
  yaml?: string;
}

export function queueConfig({ redisUrl, key, prefix, dataDir = '/nonexistent', yaml = '' }: QueueTestConfig): KestrelConfig {
  // Fixed rules (test/fixtures/lexicons) so these tests do not move as the shipped lexicons are tuned.
  return parseConfig(
    'test/queue/kestrel.yaml',
    [
      'trust:\n  domains: [oakfield.sch.uk]',
      'builtinLexicons: false',
      'lexicons: [../fixtures/lexicons]',
      `queue:\n  redisUrl: ${redisUrl}\n  prefix: ${prefix}\n  key: { value: "${key}" }\n  attempts: 3\n  backoffMs: 10`,
      `store:\n  dataDir: ${dataDir}`,
      yaml,
    ].join('\n'),
  );
}

export function message(id: string, body: string, position: Partial<FetchedMessage> = {}): FetchedMessage {
  const raw = Buffer.from(`From: ${SENDER}\r\nTo: k.patel@oakfield.sch.uk\r\nSubject: note\r\nMessage-ID: <${id}@oakfield.sch.uk>\r\nDate: Thu, 20 Nov 2026 09:30:00 +0000\r\n\r\n${body}\r\n`);
  return { account: 'acct-quokka', folder: 'INBOX/quokka-folder', uidValidity: '1700000000', uid: 1, role: 'inbox', raw, ...position };
}

/** A logger that keeps its lines, so tests can read what was logged. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** A Queue handle for looking at jobs the way an operator would. */
export function inspect(config: KestrelConfig): Queue {
  const queue = new Queue(SCAN_QUEUE, { connection: { url: config.queue.redisUrl! }, prefix: config.queue.prefix });
  queue.on('error', () => {});
  return queue;
}

/** Resolves with the job's final state once it is completed or failed. */
export async function settled(queue: Queue, jobId: string): Promise<'completed' | 'failed'> {
  return waitFor(`job ${jobId} to finish`, async () => {
    const state = await queue.getJobState(jobId);
    return state === 'completed' || state === 'failed' ? state : null;
  });
}
