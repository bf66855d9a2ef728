/**
 * OAuth2 access tokens: the token command is run, its token cached and fetched again after
 * `refreshSeconds`; failures say why without the token; a real XOAUTH2 login on Dovecot (its
 * passwd-file checks the token as the password) reconnects with a fresh token before the old one's
 * time is up.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { AccessTokenProvider, renewalMargin } from '../../src/connect/oauth-token.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { connectorConfig, counterFor, harness, mail, silent, waitFor } from './support.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-oauth-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A helper that prints `<prefix>-<n>`, n counting its runs in `counter`. */
function countingCommand(counter: string, prefix = 'token'): string {
  return `n=$(cat '${counter}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${counter}'; echo '${prefix}'-$n`;
}

const runs = (counter: string) => Number(readFileSync(counter, 'utf8').trim());

describe('access token provider', () => {
  test('runs the command, caches the token, and fetches a new one once refreshSeconds (less a margin) has passed', async () => {
    const counter = join(dir, 'count-1');
    let now = 1_000_000;
    const provider = new AccessTokenProvider('staff', { tokenCommand: countingCommand(counter), refreshSeconds: 600 }, { now: () => now });
    const [a, b] = await Promise.all([provider.token(), provider.token()]);
    expect(a.value).toBe('token-1');
    expect(b.value).toBe('token-1');
    expect(a.renewAt).toBe(1_000_000 + 600_000 - renewalMargin(600));
    now += 300_000;
    expect((await provider.token()).value).toBe('token-1');
    expect(runs(counter)).toBe(1);
    now = a.renewAt;
    expect((await provider.token()).value).toBe('token-2');
    expect(runs(counter)).toBe(2);
  });

  test('a failing command is a clear error with its exit code and stderr, never its stdout', async () => {
    const provider = new AccessTokenProvider('staff', { tokenCommand: 'echo leaked-token-value; echo "helper: tenant not found" >&2; exit 3', refreshSeconds: 600 });
    const error = await provider.token().catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('account "staff": oauth2.tokenCommand exited with code 3: helper: tenant not found');
    expect((error as Error).message).not.toContain('leaked-token-value');
  });

  test('no output, a hung command and a missing token file are errors too', async () => {
    await expect(new AccessTokenProvider('a', { tokenCommand: 'true', refreshSeconds: 600 }).token()).rejects.toThrow('account "a": oauth2.tokenCommand printed no token');
    await expect(new AccessTokenProvider('b', { tokenCommand: 'sleep 10', refreshSeconds: 600 }, { commandTimeoutMs: 200 }).token()).rejects.toThrow(
      'account "b": oauth2.tokenCommand did not finish within 0.2 s',
    );
    const missing = join(dir, 'missing-token');
    await expect(new AccessTokenProvider('c', { tokenFile: missing, refreshSeconds: 600 }).token()).rejects.toThrow(`account "c": oauth2.tokenFile: cannot read ${missing} (ENOENT)`);
  });

  test('a token file is read and trimmed', async () => {
    const file = join(dir, 'token-file');
    writeFileSync(file, 'file-token\n');
    expect((await new AccessTokenProvider('d', { tokenFile: file, refreshSeconds: 600 }).token()).value).toBe('file-token');
  });
});

describe.skipIf(!dovecotAvailable())('XOAUTH2 on Dovecot', () => {
  let server: DovecotServer;
  let connector: ConnectorHandle | undefined;

  beforeAll(async () => {
    server = await startDovecot({ users: [{ name: 'oauth', password: 'token-1' }] });
  });

  afterAll(async () => {
    await connector?.close();
    await server?.stop();
  });

  test('logs in with the token and reconnects with a fresh one before refreshSeconds run out', async () => {
    const counter = join(dir, 'count-imap');
    const config = connectorConfig(server, [{ user: 'oauth', folders: ['INBOX'], extra: { oauth2: { tokenCommand: countingCommand(counter) } } }]);
    // The schema's minimum is a minute; a two-second lifetime keeps the test short.
    config.accounts[0]!.oauth2!.refreshSeconds = 2;
    const { sink, checkpoints, metrics } = harness();
    connector = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    await connector.idle();
    expect(runs(counter)).toBe(1);

    // The identity provider rotates the token; the old one stops working for new logins.
    server.setPassword('oauth', 'token-2');
    await waitFor(() => runs(counter) >= 2, 'a second token', 10_000);
    await waitFor(() => connector!.states().oauth === 'idle', 'the new session');
    const client = await server.client('oauth');
    try {
      await client.append('INBOX', mail({ subject: 'after the refresh' }));
    } finally {
      await client.logout();
    }
    await waitFor(() => sink.messages.length === 1, 'mail after the refresh');
    expect(await counterFor(metrics.connectorErrors, 'oauth')).toBe(0);
  });
});
