/** `kestrel purge [--dry-run]` (runPurge) and the daily schedule, against an embedded store. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLive } from '../../src/cli/live-commands.js';
import { runPurge } from '../../src/cli/purge-command.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import { openFlagStore } from '../../src/flags/open.js';
import { openPglite } from '../../src/flags/sql.js';
import { startRetentionSchedule } from '../../src/review/retention-schedule.js';
import { captureIo } from '../helpers/cli.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { cleanReport, occurrence, seedPglite, silent } from '../flags/support.js';

let dir: string;
let config: KestrelConfig;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-purge-cli-'));
  const file = join(dir, 'kestrel.yaml');
  writeFileSync(file, `store: { dataDir: ${join(dir, 'data')} }\nlog: { level: silent }\nretention: { scannedKeysDays: 10 }\n`);
  config = loadConfig(file);
  const store = await openFlagStore(config.store, silent);
  try {
    await store.recordScan('old-key', occurrence('a', 'INBOX', 1), await cleanReport('old-key'));
    await store.recordScan('new-key', occurrence('a', 'INBOX', 2), await cleanReport('new-key'));
  } finally {
    await store.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The key was scanned 11 days ago, as far as the store knows. */
async function ageKey(): Promise<void> {
  const client = await openPglite(join(dir, 'data', 'pglite'));
  try {
    await client.query("UPDATE messages SET scanned_at = now() - interval '11 days' WHERE message_key = 'old-key'");
  } finally {
    await client.close();
  }
}

describe('kestrel purge', () => {
  it('counts without deleting with --dry-run, then deletes and records the run', async () => {
    await ageKey();
    const dry = captureIo();
    expect(await runPurge(config, { dryRun: true }, dry)).toBe(0);
    expect(dry.stdoutText()).toMatch(/^dry run: nothing deleted; a purge now would delete:\n/);
    expect(dry.stdoutText()).toMatch(/scanned message keys\s+1\n/);

    const real = captureIo();
    expect(await runPurge(config, { dryRun: false }, real)).toBe(0);
    expect(real.stdoutText()).toMatch(/^purged:\n/);
    expect(real.stdoutText()).toMatch(/scanned message keys\s+1\n/);

    const store = await openFlagStore(config.store, silent);
    try {
      expect(await store.priorScan('old-key')).toBeNull();
      expect(await store.priorScan('new-key')).toEqual({ flagId: null });
      expect((await store.purges()).map((p) => p.actor)).toEqual(['kestrel purge']);
    } finally {
      await store.close();
    }
  });

  it('runs daily once a purge is due, and not again until the next purge time', async () => {
    const store = await openFlagStore(config.store, silent);
    try {
      // Two days on, a purge time has passed since the command's run.
      const later = () => new Date(Date.now() + 2 * 86_400_000);
      const first = startRetentionSchedule({ store, config, logger: silent, now: later, checkMs: 20 });
      await waitFor('the scheduled purge', async () => ((await store.purges()).some((p) => p.actor === 'kestrel') ? true : null));
      // Several more checks (and a second process's schedule) find it done.
      const second = startRetentionSchedule({ store, config, logger: silent, now: later, checkMs: 20 });
      await sleep(200);
      await first.close();
      await second.close();
      expect((await store.purges()).filter((p) => p.actor === 'kestrel')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe('kestrel run without the review UI', () => {
  it('still runs the daily purge', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kestrel-purge-run-'));
    try {
      seedPglite(dataDir);
      // A mailbox nobody answers for: the connector backs off, and the rest of the process runs.
      const live = parseConfig(
        join(dataDir, 'kestrel.yaml'),
        `trust: { domains: [oakfield.sch.uk] }\naccounts:\n  - { id: quiet, host: 127.0.0.1, port: 1, tls: none, user: quiet@oakfield.sch.uk, password: { value: x } }\nstore: { dataDir: ${dataDir} }\nmetrics: { listen: false }\nreview: { listen: false }\nlog: { level: info }\nscan: { jobs: 1 }\n`,
      );
      const lines: string[] = [];
      const logTo = new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(chunk.toString()), done()) });
      const stop = new AbortController();
      const running = runLive(live, { signal: stop.signal, logTo });
      try {
        await waitFor('the scheduled purge', () => lines.some((line) => line.includes('retention purge done')), 30_000);
      } finally {
        stop.abort();
        expect(await running).toBe(0);
      }
      const store = await openFlagStore(live.store, silent);
      try {
        expect((await store.purges()).map((p) => p.actor)).toEqual(['kestrel']);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
