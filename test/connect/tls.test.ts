/**
 * TLS with certificate checks that cannot be turned off: against Dovecot with a certificate from a
 * throw-away CA, an account given the CA connects (implicit TLS and STARTTLS), one without it is
 * refused and backs off.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { captureLogs, connectorConfig, counterFor, harness, mail, silent, waitFor } from './support.js';

const opensslAvailable = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

/** A CA and a server certificate for 127.0.0.1 and localhost, signed by it. */
function makeCertificates(dir: string): { caFile: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Kestrel Test CA');
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  return { caFile: join(dir, 'ca.pem'), cert: readFileSync(join(dir, 'server.pem'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8') };
}

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
