/**
 * `kestrel run` without Redis, end to end: real Dovecot mailboxes, the connectors, the scan threads
 * and the PGlite store in one process. Mail APPENDed to INBOX and Sent is scanned and flagged; the
 * same message in the sender's Sent and the recipient's INBOX is one flag with two occurrences;
 * a restart resumes at the checkpoints and scans nothing twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLive } from '../../src/cli/live-commands.js';
import { parseConfig } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import { openFlagStore } from '../../src/flags/open.js';
import { createLogger } from '../../src/log.js';
import type { KestrelMetrics } from '../../src/ops/metrics.js';
import { startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { metricValue, waitFor } from '../helpers/wait.js';
import { delivered, ordinary, rfc822, SELF_HARM, STAFF_TO_PUPIL, TRUST } from './support.js';
import { seedPglite } from '../flags/support.js';

let dovecot: DovecotServer;
let dataDir: string;
let config: KestrelConfig;

beforeAll(async () => {
  dovecot = await startDovecot();
  dataDir = mkdtempSync(join(tmpdir(), 'kestrel-embedded-'));
  seedPglite(dataDir);
  const account = (id: string, user: string) => `  - { id: ${id}, host: 127.0.0.1, port: ${dovecot.port}, tls: none, user: ${user}, password: { value: secret }, pollSeconds: 5 }`;
  config = parseConfig(
    join(dataDir, 'kestrel.yaml'),
    `${TRUST}accounts:\n${account('staff-hali', 'alice')}\n${account('pupil-jdoe', 'bob')}\nstore: { dataDir: ${dataDir} }\nmetrics: { listen: false }\nreview: { listen: false }\nlog: { level: silent }\nscan: { jobs: 1 }\n`,
  );
});

afterAll(async () => {
  await dovecot?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `kestrel run` until `work` is done, then stops it as SIGTERM would. */
async function whileRunning(work: (metrics: KestrelMetrics) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  let started: (metrics: KestrelMetrics) => void = () => {};
  const metricsReady = new Promise<KestrelMetrics>((resolve) => (started = resolve));
  const running = runLive(config, { signal: stop.signal, onStarted: started });
  try {
    await work(await Promise.race([metricsReady, running.then(() => Promise.reject(new Error('kestrel run ended early')))]));
  } finally {
    stop.abort();
    expect(await running).toBe(0);
  }
}

describe('kestrel run (embedded)', () => {
  it('scans mail appended to INBOX and Sent, records one flag per message with every mailbox, and resumes without rescanning', async () => {
    await whileRunning(async (metrics) => {
      // Let the connectors reach their folders first: without backfillSince only new mail counts.
      await waitFor('the connectors to watch', async () => (await metricValue(metrics, 'kestrel_connector_state', { state: 'idle' })) === 2, 60_000);
      await dovecot.append('alice', 'Sent', rfc822(STAFF_TO_PUPIL));
      await dovecot.append('bob', 'INBOX', delivered(STAFF_TO_PUPIL));
      await dovecot.append('bob', 'Sent', rfc822(SELF_HARM));
      await dovecot.append('alice', 'INBOX', rfc822(ordinary(1)));
      await waitFor('four messages handled', async () => (await metricValue(metrics, 'kestrel_messages_scanned_total')) + (await metricValue(metrics, 'kestrel_messages_deduplicated_total')) === 4, 60_000);
      expect(await metricValue(metrics, 'kestrel_messages_scanned_total', { outcome: 'flagged' })).toBe(2);
      expect(await metricValue(metrics, 'kestrel_messages_scanned_total', { outcome: 'clean' })).toBe(1);
      expect(await metricValue(metrics, 'kestrel_messages_deduplicated_total')).toBe(1);
      expect(await metricValue(metrics, 'kestrel_messages_fetched_total', { account: 'pupil-jdoe' })).toBe(2);
    });

    // A restart starts from the checkpoints: only the message appended meanwhile is new.
    await dovecot.append('alice', 'INBOX', rfc822(ordinary(2)));
    await whileRunning(async (metrics) => {
      await waitFor('the new message', async () => (await metricValue(metrics, 'kestrel_messages_scanned_total')) === 1, 60_000);
      await dovecot.append('bob', 'INBOX', rfc822(ordinary(3)));
      await waitFor('a message appended while running', async () => (await metricValue(metrics, 'kestrel_messages_scanned_total')) === 2, 60_000);
      expect(await metricValue(metrics, 'kestrel_messages_fetched_total')).toBe(2);
    });

    const store = await openFlagStore(config.store, createLogger(config));
    try {
      const selfHarm = (await store.flag(1))?.report.severity === 'urgent' ? await store.flag(1) : await store.flag(2);
      const contact = selfHarm?.id === 1 ? await store.flag(2) : await store.flag(1);
      expect(await store.flag(3)).toBeNull();
      expect(selfHarm?.report.categories).toContain('safety.self_harm');
      expect(selfHarm?.report.routes).toEqual(expect.arrayContaining(['monitor', 'urgent']));
      expect(selfHarm?.occurrences.map((o) => `${o.account}/${o.folder}`)).toEqual(['pupil-jdoe/Sent']);
      expect(contact?.report.categories).toContain('pupil_email.personal_contact');
      expect(contact?.occurrences.map((o) => `${o.account}/${o.folder}`).sort()).toEqual(['pupil-jdoe/INBOX', 'staff-hali/Sent']);
      expect(await store.checkpoint('staff-hali', 'INBOX')).toMatchObject({ lastUid: 2 });
      expect(await store.checkpoint('pupil-jdoe', 'INBOX')).toMatchObject({ lastUid: 2 });
    } finally {
      await store.close();
    }
  });

  it('refuses to start without accounts, and names what to add', async () => {
    await expect(runLive(parseConfig('empty.yaml', TRUST))).rejects.toThrow('no mailboxes to watch: add an `accounts` list');
  });
});
