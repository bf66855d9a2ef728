/** Shared pieces for the connector tests: an in-memory checkpoint store, a recording sink, configs, mail. */
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';
import { kestrelConfigSchema, type KestrelConfig } from '../../src/config/schema.js';
import type { Checkpoint, CheckpointStore } from '../../src/flags/types.js';
import type { FetchedMessage, MessageSink } from '../../src/connect/types.js';
import { createMetrics, type KestrelMetrics } from '../../src/ops/metrics.js';
import type { DovecotServer } from '../harness/dovecot.js';
import { sleep, waitFor as waitUntil } from '../helpers/wait.js';

/** The CheckpointStore contract in memory: never backwards within a UIDVALIDITY, a new one replaces the epoch. */
export class MemoryCheckpoints implements CheckpointStore {
  readonly entries = new Map<string, Checkpoint>();

  async checkpoint(account: string, folder: string): Promise<Checkpoint | null> {
    const found = this.entries.get(`${account}\u0000${folder}`);
    return found ? { ...found } : null;
  }

  async advanceCheckpoint(account: string, folder: string, checkpoint: Checkpoint): Promise<void> {
    const key = `${account}\u0000${folder}`;
    const current = this.entries.get(key);
    if (current && current.uidValidity === checkpoint.uidValidity && checkpoint.lastUid < current.lastUid) return;
    this.entries.set(key, { ...checkpoint });
  }
}

/** Records what the connector hands over; can be made saturated, slow or failing. */
export class RecordingSink implements MessageSink {
  readonly messages: FetchedMessage[] = [];
  full = false;
  saturatedCalls = 0;
  acceptDelayMs = 0;
  failNext = 0;

  async accept(message: FetchedMessage): Promise<void> {
    if (this.acceptDelayMs > 0) await sleep(this.acceptDelayMs);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('sink refused the message');
    }
    this.messages.push(message);
  }

  async saturated(): Promise<boolean> {
    this.saturatedCalls++;
    return this.full;
  }

  subjects(account?: string): string[] {
    return this.messages.filter((m) => account === undefined || m.account === account).map((m) => subjectOf(m.raw) ?? '');
  }
}

export function subjectOf(raw: Buffer): string | undefined {
  return /^Subject: (.*)$/m.exec(raw.toString('utf8'))?.[1]?.trim();
}

export { sleep };

/** The shared poll (test/helpers/wait.ts) with the condition first, as these tests read. */
export function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<true> {
  return waitUntil(what, condition, timeoutMs);
}

export interface LogCapture {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

/** A pino logger whose entries (debug and up) are kept for assertions. */
export function captureLogs(level = 'debug'): LogCapture {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

export interface AccountInput {
  id?: string;
  user: string;
  password?: string;
  folders?: string[];
  journal?: boolean;
  backfillSince?: string;
  pollSeconds?: number;
  extra?: Record<string, unknown>;
}

/** A config with Dovecot accounts over loopback cleartext and short reconnect delays. */
export function connectorConfig(server: Pick<DovecotServer, 'host' | 'port'>, accounts: AccountInput[], extra: Record<string, unknown> = {}): KestrelConfig {
  return kestrelConfigSchema.parse({
    accounts: accounts.map((a) => ({
      id: a.id ?? a.user,
      host: server.host,
      port: server.port,
      tls: 'none',
      user: a.user,
      ...(a.password !== undefined || !a.extra?.oauth2 ? { password: { value: a.password ?? 'secret' } } : {}),
      ...(a.folders ? { folders: a.folders } : {}),
      ...(a.journal ? { journal: true } : {}),
      ...(a.backfillSince ? { backfillSince: a.backfillSince } : {}),
      pollSeconds: a.pollSeconds ?? 30,
      ...a.extra,
    })),
    connect: { reconnectMinMs: 100, reconnectMaxMs: 1_000 },
    ...extra,
  });
}

export interface Harness {
  sink: RecordingSink;
  checkpoints: MemoryCheckpoints;
  metrics: KestrelMetrics;
}

export function harness(): Harness {
  return { sink: new RecordingSink(), checkpoints: new MemoryCheckpoints(), metrics: createMetrics() };
}

export const silent = pino({ level: process.env.KESTREL_TEST_LOG ?? 'silent' });

/** A small RFC 5322 message with a unique Message-ID. */
export function mail(options: { subject: string; from?: string; to?: string; body?: string; headers?: string[]; messageId?: string }): Buffer {
  const messageId = options.messageId ?? `<${randomBytes(8).toString('hex')}@test.riverbank-trust.sch.uk>`;
  return Buffer.from(
    [
      ...(options.headers ?? []),
      `From: ${options.from ?? 'j.ward@riverbank-trust.sch.uk'}`,
      `To: ${options.to ?? 'k.patel@riverbank-trust.sch.uk'}`,
      `Subject: ${options.subject}`,
      `Message-ID: ${messageId}`,
      'Date: Mon, 21 Sep 2026 09:00:00 +0100',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      options.body ?? `Body of ${options.subject}.`,
      '',
    ].join('\r\n'),
  );
}

/** The value of a counter for one account label. */
export async function counterFor(metric: KestrelMetrics['fetched'] | KestrelMetrics['connectorErrors'], account: string): Promise<number> {
  const data = await metric.get();
  return data.values.find((v) => v.labels.account === account)?.value ?? 0;
}
