/**
 * TLS with certificate checks that cannot be turned off: against Dovecot with a certificate from a
 * throw-away CA, an account given the CA connects (implicit TLS and STARTTLS), one without it is
 * refused and backs off.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { makeCertificates, opensslAvailable } from '../harness/certs.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { captureLogs, connectorConfig, counterFor, harness, mail, silent, waitFor } from './support.js';

describe.skipIf(!dovecotAvailable() || !opensslAvailable)('TLS on Dovecot', () => {
  let dir: string;
  let caFile: string;
  let server: DovecotServer;
  const running: ConnectorHandle[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kestrel-tls-'));
    const made = makeCertificates(dir);
    caFile = made.caFile;
    server = await startDovecot({ users: ['implicit', 'starttls', 'untrusting'].map((name) => ({ name, password: 'secret' })), tls: { cert: made.cert, key: made.key } });
  });

  afterAll(async () => {
    await Promise.all(running.map((c) => c.close()));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('with the CA, implicit TLS and STARTTLS connect and mail flows', async () => {
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [
      { user: 'implicit', folders: ['INBOX'], extra: { tls: 'implicit', port: server.tlsPort, ca: caFile } },
      { user: 'starttls', folders: ['INBOX'], extra: { tls: 'starttls', ca: caFile } },
    ]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    for (const user of ['implicit', 'starttls']) {
      const client = await server.client(user);
      try {
        await client.append('INBOX', mail({ subject: `over TLS to ${user}` }));
      } finally {
        await client.logout();
      }
    }
    await waitFor(() => sink.messages.length === 2, 'mail over TLS');
    expect(sink.subjects().sort()).toEqual(['over TLS to implicit', 'over TLS to starttls']);
  });

  test('without the CA the certificate is refused', async () => {
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user: 'untrusting', folders: ['INBOX'], extra: { tls: 'implicit', port: server.tlsPort } }]);
    const { logger, lines } = captureLogs('warn');
    const connector = startConnector({ config, sink, checkpoints, metrics, logger });
    running.push(connector);
    await waitFor(async () => (await counterFor(metrics.connectorErrors, 'untrusting')) >= 2, 'refused connections');
    expect(connector.states().untrusting).toBe('backoff');
    expect(lines[0]).toMatchObject({ account: 'untrusting', error: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } });
  });
});
