/**
 * Copies to the e-safety monitor, end to end, with real servers: Dovecot mailboxes, an SMTP relay
 * (smtp-server) that delivers into the monitor's Dovecot INBOX, and the connectors watching it.
 * - Embedded `kestrel run`: a message flagged in two mailboxes reaches the monitor once, with the
 *   original attached byte for byte; the connector watching the monitor's INBOX recognises the
 *   copy (no second flag) and confirms its delivery; a bounce of the other copy, arriving in the
 *   sender's mailbox after the relay accepted it, fails that delivery (no new flag either).
 * - Cluster: a `kestrel copier` process SIGKILLed after the relay took two copies but before it
 *   heard back. The copy that arrived in a watched mailbox is not sent again; the one nobody can
 *   see is sent again (same Message-ID) once the dead copier's lease runs out.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConnectorCommand, runLive } from '../../src/cli/live-commands.js';
import { loadConfig, parseConfig, withEnvironment } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import { copyKeys } from '../../src/copy/keys.js';
import { planOutbox } from '../../src/copy/plan.js';
import { openFlagStore } from '../../src/flags/open.js';
import { createLogger } from '../../src/log.js';
import { createMetrics, type KestrelMetrics } from '../../src/ops/metrics.js';
import { processMessage } from '../../src/queue/process-message.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { startPostgres, type PostgresServer } from '../harness/postgres.js';
import { startRedis, type RedisServer } from '../harness/redis.js';
import { startSmtpServer, type SmtpTestServer } from '../harness/smtp.js';
import { bounceReport } from '../helpers/bounce.js';
import { metricValue, waitFor } from '../helpers/wait.js';
import { rfc822, SELF_HARM, spawnKestrel, TRUST, type KestrelProcess } from './support.js';
import { seedPglite } from '../flags/support.js';

const HEAD = 'head@oakfield.sch.uk';
const ONCALL = 'oncall@oakfield.sch.uk';

let dovecot: DovecotServer;
let smtp: SmtpTestServer;

/** The relay hands the head's mail to the `monitor` Dovecot user, as a real MTA would; on-call has no mailbox Kestrel sees. */
async function deliverToDovecot(message: { to: string[]; raw: Buffer }): Promise<void> {
  if (message.to.includes(HEAD)) await dovecot.append('monitor', 'INBOX', message.raw);
}

beforeAll(async () => {
  [dovecot, smtp] = await Promise.all([startDovecot(), startSmtpServer({ onMessage: deliverToDovecot })]);
});

afterAll(async () => {
  await Promise.all([dovecot?.stop(), smtp?.stop()]);
});

function account(id: string, user: string, folders = '[INBOX, Sent]'): string {
  return `  - { id: ${id}, host: 127.0.0.1, port: ${dovecot.port}, tls: none, user: ${user}, password: { value: secret }, pollSeconds: 5, folders: ${folders} }`;
}

function delivery(extra = '', timeoutSeconds = 10): string {
  return `delivery:
  from: "Kestrel <kestrel@oakfield.sch.uk>"
  reviewUrl: https://kestrel.oakfield.sch.uk
  smtp: { host: 127.0.0.1, port: ${smtp.port}, tls: none, timeoutSeconds: ${timeoutSeconds} }
  sweepSeconds: 1
${extra}routes:
  monitor: { categories: ["safety.*"], to: [${HEAD}] }
  urgent: { categories: ["*"], minSeverity: urgent, to: [${HEAD}, ${ONCALL}] }
`;
}

describe('copies to the monitor', () => {
  it('embedded: one copy per recipient for a message in two mailboxes, original attached unchanged, recognised and confirmed in the monitor mailbox', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kestrel-copies-'));
    seedPglite(dataDir);
    try {
      const config: KestrelConfig = parseConfig(
        join(dataDir, 'kestrel.yaml'),
        `${TRUST}accounts:\n${account('staff-hali', 'alice')}\n${account('pupil-jdoe', 'bob')}\n${account('monitor', 'monitor', '[INBOX]')}\n${account('kestrel', 'carol', '[INBOX]')}\n` +
          `store: { dataDir: ${dataDir} }\nmetrics: { listen: false }\nreview: { listen: false }\nlog: { level: silent }\nscan: { jobs: 1 }\n${delivery('  settleSeconds: 3\n')}`,
      );
      const stop = new AbortController();
      let started: (metrics: KestrelMetrics) => void = () => {};
      const metricsReady = new Promise<KestrelMetrics>((resolve) => (started = resolve));
      const running = runLive(config, { signal: stop.signal, onStarted: started });
      const original = rfc822(SELF_HARM);
      try {
        const metrics = await Promise.race([metricsReady, running.then(() => Promise.reject(new Error('kestrel run ended early')))]);
        await waitFor('the connectors to watch', async () => (await metricValue(metrics, 'kestrel_connector_state', { state: 'idle' })) === 4, 60_000);
        await dovecot.append('bob', 'Sent', original);
        await dovecot.append('alice', 'INBOX', original);
        await waitFor('both copies sent', async () => smtp.received.length === 2, 60_000);
        await waitFor('the monitor copy seen by its connector', async () => (await metricValue(metrics, 'kestrel_copies_total', { outcome: 'confirmed' })) === 1, 60_000);
        expect(await metricValue(metrics, 'kestrel_messages_scanned_total', { outcome: 'flagged' })).toBe(1);
        expect(await metricValue(metrics, 'kestrel_messages_deduplicated_total')).toBe(1);
        // The copy in the monitor's INBOX was recognised before the pipeline: not scanned, not flagged.
        expect(await metricValue(metrics, 'kestrel_messages_fetched_total', { account: 'monitor' })).toBe(0);

        // On-call's mailbox turns out to be full: the bounce reaches Kestrel's own mailbox.
        const oncallCopy = smtp.received.find((m) => m.to.includes(ONCALL))!;
        await dovecot.append('carol', 'INBOX', bounceReport(oncallCopy.raw, 'text/rfc822-headers', '5.2.2', ONCALL));
        await waitFor('the bounce recorded', async () => (await metricValue(metrics, 'kestrel_copies_total', { outcome: 'bounced' })) === 1, 60_000);
        expect(await metricValue(metrics, 'kestrel_messages_fetched_total', { account: 'kestrel' })).toBe(0);
        expect(await metricValue(metrics, 'kestrel_messages_scanned_total', { outcome: 'flagged' })).toBe(1);
      } finally {
        stop.abort();
        expect(await running).toBe(0);
      }

      expect(smtp.received.map((m) => m.to).flat().sort()).toEqual([HEAD, ONCALL]);
      for (const copy of smtp.received) {
        const parsed = await simpleParser(copy.raw);
        expect(parsed.subject).toMatch(/^\[Kestrel URGENT\] Flag 1: safety\.self_harm, urgent$/);
        expect(parsed.subject).not.toContain('jdoe');
        expect(parsed.attachments.find((a) => a.contentType === 'message/rfc822')!.content.equals(original)).toBe(true);
        expect(parsed.text).toContain('https://kestrel.oakfield.sch.uk/flags/1');
        expect(parsed.text).toMatch(/pupil-jdoe/);
        expect(parsed.text).toMatch(/staff-hali/);
      }

      const store = await openFlagStore(config.store, createLogger(config));
      try {
        const deliveries = await store.deliveries({ flagId: 1 });
        expect(deliveries.map((d) => [d.recipient, d.status, d.confirmedAt !== null]).sort()).toEqual([
          [HEAD, 'sent', true],
          [ONCALL, 'failed', false],
        ]);
        expect(deliveries.find((d) => d.recipient === ONCALL)!.lastError).toBe('bounced after the relay accepted it (status 5.2.2): 552 5.2.2 <<address>>: mailbox full');
        // Released once both copies had gone; a retry of the bounced one goes without it.
        expect(await store.sealedOriginal(1)).toBeNull();
      } finally {
        await store.close();
      }
    } finally {
      smtp.received.length = 0;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe('cluster', () => {
    let redis: RedisServer;
    let postgres: PostgresServer;
    let dir: string;
    const processes = new Set<ChildProcess>();

    beforeAll(async () => {
      [redis, postgres] = await Promise.all([startRedis({ aof: 'always' }), startPostgres()]);
      dir = mkdtempSync(join(tmpdir(), 'kestrel-copier-'));
      writeFileSync(join(dir, 'queue.key'), randomBytes(32).toString('base64'));
      writeFileSync(
        join(dir, 'kestrel.yaml'),
        `${TRUST}accounts:\n${account('monitor', 'monitor', '[INBOX]')}\nqueue: { key: { file: queue.key } }\nmetrics: { listen: false }\nreview: { listen: false }\nlog: { level: info }\n` +
          `connect: { leaseSeconds: 5 }\n${delivery('  uncertainResendMinutes: 0\n  settleSeconds: 0\n', 2)}`,
      );
    });

    afterAll(async () => {
      for (const child of processes) child.kill('SIGKILL');
      await Promise.all([redis?.stop(), postgres?.stop()]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const copier = (): KestrelProcess => spawnKestrel(['copier', '--config', join(dir, 'kestrel.yaml')], { REDIS_URL: redis.url, DATABASE_URL: postgres.url }, processes);

    it('a copier killed mid-send: the copy seen in a watched mailbox is not sent twice, the unseen one is sent again', { timeout: 120_000 }, async () => {
      const config = withEnvironment(loadConfig(join(dir, 'kestrel.yaml')), { ...process.env, REDIS_URL: redis.url, DATABASE_URL: postgres.url });
      const logger = createLogger({ ...config, log: { level: 'silent' } });
      const store = await openFlagStore(config.store, logger);
      const stopConnector = new AbortController();
      const connector = runConnectorCommand(config, { signal: stopConnector.signal, logTo: new Writable({ write: (_chunk, _encoding, done) => done() }) });
      try {
        // A worker's part: the flag and its two deliveries, recorded together. No job is queued,
        // so the copier must find them in the store by itself.
        const keys = copyKeys(config);
        const scanner = createScanner(config);
        const original = rfc822({ ...SELF_HARM, id: 'killed-copier' });
        await processMessage(
          { account: 'pupil-jdoe', folder: 'Sent', uidValidity: '1', uid: 1, role: 'sent', raw: original },
          { config, store, metrics: createMetrics(), logger, scan: (raw) => scanner.scan(raw), spread: null, planOutbox: (report, raw) => planOutbox(report, raw, config, keys.original) },
        );

        // The relay stores both copies (the head's goes into the monitor's INBOX) and never answers.
        smtp.behave({ replyDelayMs: 600_000 });
        const doomed = copier();
        await waitFor('the relay to hold both copies', async () => smtp.received.length === 2, 60_000);
        doomed.child.kill('SIGKILL');
        await doomed.exited;
        smtp.behave({});

        const restarted = copier();
        try {
          await waitFor('the unseen copy sent again after the lease ran out', async () => smtp.received.filter((m) => m.to.includes(ONCALL)).length === 2, 60_000);
          expect(smtp.received.filter((m) => m.to.includes(HEAD))).toHaveLength(1);
          // The relay has the message before the copier hears its answer and records it.
          await waitFor('both copies recorded sent', async () => (await store.deliveries()).every((d) => d.status === 'sent'), 30_000);
          const deliveries = await store.deliveries();
          const byRecipient = Object.fromEntries(deliveries.map((d) => [d.recipient, d]));
          expect(byRecipient[HEAD]).toMatchObject({ status: 'sent', confirmedAt: expect.any(Date), resentAfterUncertain: false });
          expect(byRecipient[ONCALL]).toMatchObject({ status: 'sent', confirmedAt: null, resentAfterUncertain: true });
          const oncallIds = await Promise.all(smtp.received.filter((m) => m.to.includes(ONCALL)).map(async (m) => (await simpleParser(m.raw)).messageId));
          expect(oncallIds).toEqual([byRecipient[ONCALL]!.messageId, byRecipient[ONCALL]!.messageId]);
        } finally {
          restarted.child.kill('SIGTERM');
          expect(await restarted.exited).toBe(0);
        }
      } finally {
        stopConnector.abort();
        await connector;
        await store.close();
        smtp.received.length = 0;
      }
    });
  });
});
