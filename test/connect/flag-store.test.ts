/** The connector with the real checkpoint store (PGlite): a restart resumes after the stored checkpoint. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kestrelConfigSchema } from '../../src/config/schema.js';
import { startConnector } from '../../src/connect/connector.js';
import { openFlagStore } from '../../src/flags/open.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { connectorConfig, mail, RecordingSink, silent, waitFor } from './support.js';
import { seedPglite } from '../flags/support.js';

describe.skipIf(!dovecotAvailable())('checkpoints in the flag store', () => {
  let server: DovecotServer;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kestrel-connect-store-'));
    seedPglite(dir);
    server = await startDovecot({ users: [{ name: 'stored', password: 'secret' }] });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function append(subjects: string[]): Promise<void> {
    const client = await server.client('stored');
    try {
      for (const subject of subjects) await client.append('INBOX', mail({ subject }));
    } finally {
      await client.logout();
    }
  }

  test('a connector restarted on the same PGlite store carries on after its checkpoint', async () => {
    const storeConfig = kestrelConfigSchema.parse({ store: { dataDir: dir } }).store;
    const config = connectorConfig(server, [{ user: 'stored' }]);
    const sink = new RecordingSink();

    let store = await openFlagStore(storeConfig, silent);
    const first = startConnector({ config, sink, checkpoints: store, metrics: createMetrics(), logger: silent });
    await first.idle();
    await append(['one', 'two']);
    await waitFor(() => sink.messages.length === 2, 'two messages');
    await first.close();
    await store.close();

    await append(['three']);
    store = await openFlagStore(storeConfig, silent);
    try {
      const second = startConnector({ config, sink, checkpoints: store, metrics: createMetrics(), logger: silent });
      await waitFor(() => sink.messages.length === 3, 'the message that came while it was down');
      await second.idle();
      await second.close();
      expect(sink.subjects()).toEqual(['one', 'two', 'three']);
      expect(await store.checkpoint('stored', 'INBOX')).toMatchObject({ lastUid: 3, uidValidity: sink.messages[0]!.uidValidity });
      expect((await store.checkpoint('stored', 'Sent'))?.lastUid).toBe(0);
    } finally {
      await store.close();
    }
  });
});
