/**
 * Accounts are independent: one with a wrong password backs off and counts errors while another
 * keeps working, and recovers once the password is right. A saturated sink pauses fetching.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { freePort } from '../harness/redis.js';
import { captureLogs, connectorConfig, counterFor, harness, mail, silent, sleep, waitFor } from './support.js';

describe.skipIf(!dovecotAvailable())('accounts and backpressure', () => {
  let server: DovecotServer;
  const running: ConnectorHandle[] = [];

  beforeAll(async () => {
    server = await startDovecot({ users: ['good', 'bad', 'busy', 'partial'].map((name) => ({ name, password: 'secret' })) });
  });

  afterAll(async () => {
    await Promise.all(running.map((c) => c.close()));
    await server?.stop();
  });

  async function append(user: string, subjects: string[]): Promise<void> {
    const client = await server.client(user);
    try {
      for (const subject of subjects) await client.append('INBOX', mail({ subject }));
    } finally {
      await client.logout();
    }
  }

  test('a wrong password backs off and counts errors while another account keeps working', async () => {
    const { sink, checkpoints, metrics } = harness();
    const { logger, lines } = captureLogs('info');
    const config = connectorConfig(server, [
      { user: 'good', folders: ['INBOX'] },
      { user: 'bad', folders: ['INBOX'], password: 'not-the-password' },
    ]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger });
    running.push(connector);

    await waitFor(async () => (await counterFor(metrics.connectorErrors, 'bad')) >= 3, 'three failed logins');
    expect(connector.states().bad).toBe('failed');
    await waitFor(() => connector.states().good === 'idle', 'the good account idle');
    await append('good', ['still flowing']);
    await waitFor(() => sink.messages.length === 1, 'mail for the good account');
    expect(sink.messages[0]!.account).toBe('good');
    expect(await counterFor(metrics.connectorErrors, 'good')).toBe(0);
    const warning = lines.find((l) => l.account === 'bad' && l.level === 40);
    expect(warning?.msg).toMatch(/login refused/);
    expect(JSON.stringify(lines)).not.toContain('not-the-password');

    // The operator fixes the password: the next attempt gets in.
    server.setPassword('bad', 'not-the-password');
    await waitFor(() => connector.states().bad === 'idle', 'the bad account recovered');
    await append('bad', ['after the fix']);
    await waitFor(() => sink.messages.some((m) => m.account === 'bad'), 'mail for the fixed account');
  });

  test('a server that refuses connections is retried at the backoff pace, not in a tight loop', async () => {
    const { sink, checkpoints, metrics } = harness();
    // Nothing listens on this port: every connect is refused at once, and imapflow emits 'close' as it gives up.
    const closed = await freePort();
    const config = connectorConfig(server, [{ user: 'unreachable', folders: ['INBOX'] }]);
    const connector = startConnector({ config: { ...config, accounts: config.accounts.map((a) => ({ ...a, port: closed })) }, sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await sleep(2_000);
    // 100 ms minimum, doubling to 1 s: about six attempts in 2 s; the tight loop made thousands.
    const attempts = await counterFor(metrics.connectorErrors, 'unreachable');
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(12);
    expect(connector.states().unreachable).toBe('backoff');
  });

  test('a configured folder missing on the server is reported and retried while the others are watched', async () => {
    const { sink, checkpoints, metrics } = harness();
    const { logger, lines } = captureLogs('warn');
    const config = connectorConfig(server, [{ user: 'partial', folders: ['INBOX', 'Safeguarding'] }]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger });
    running.push(connector);
    await waitFor(async () => (await counterFor(metrics.connectorErrors, 'partial')) >= 2, 'retries for the missing folder');
    expect(connector.states().partial).toBe('failed');
    expect(lines[0]).toMatchObject({ account: 'partial', folder: 'Safeguarding', error: { message: 'account "partial": folder Safeguarding is not on the server' } });
    await append('partial', ['inbox still watched']);
    await waitFor(() => sink.messages.length === 1, 'INBOX mail');

    const client = await server.client('partial');
    try {
      await client.mailboxCreate('Safeguarding');
      await waitFor(() => connector.states().partial === 'idle', 'the folder found once created');
      await client.append('Safeguarding', mail({ subject: 'in the new folder' }));
    } finally {
      await client.logout();
    }
    await waitFor(() => sink.messages.length === 2, 'mail in the new folder');
    expect(sink.messages[1]).toMatchObject({ folder: 'Safeguarding', role: 'other' });
  });

  test('while the sink is saturated fetching pauses, then resumes', async () => {
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user: 'busy', folders: ['INBOX'] }]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger: silent, tuning: { saturationPollMs: 100 } });
    running.push(connector);
    await connector.idle();

    sink.full = true;
    await append('busy', ['queued 1', 'queued 2', 'queued 3']);
    await waitFor(() => connector.states().busy === 'paused', 'the paused state');
    const calls = sink.saturatedCalls;
    await waitFor(() => sink.saturatedCalls >= calls + 3, 'the sink being asked again');
    expect(sink.messages).toEqual([]);

    sink.full = false;
    await waitFor(() => sink.messages.length === 3, 'the queued mail');
    expect(sink.subjects()).toEqual(['queued 1', 'queued 2', 'queued 3']);
    await connector.idle();
    expect(connector.states().busy).toBe('idle');
  });
});
