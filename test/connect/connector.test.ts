/**
 * The connector against a real Dovecot: INBOX and Sent reach the sink with their roles and
 * positions in UID order, nothing is marked read, a restart resumes after the checkpoint, backfill,
 * a replaced folder (new UIDVALIDITY) and dropped connections.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { connectorConfig, counterFor, harness, mail, silent, subjectOf, waitFor } from './support.js';

const USERS = ['roles', 'seen', 'restart', 'closing', 'failing', 'backfill', 'replaced', 'dropped', 'restarted'];

describe.skipIf(!dovecotAvailable())('IMAP connector on Dovecot', () => {
  let server: DovecotServer;
  const running: ConnectorHandle[] = [];

  beforeAll(async () => {
    server = await startDovecot({ users: USERS.map((name) => ({ name, password: 'secret' })) });
  });

  afterAll(async () => {
    await Promise.all(running.map((c) => c.close()));
    await server?.stop();
  });

  async function append(user: string, folder: string, subjects: string[], date?: Date): Promise<void> {
    const client = await server.client(user);
    try {
      for (const subject of subjects) await client.append(folder, mail({ subject }), [], date);
    } finally {
      await client.logout();
    }
  }

  test('INBOX and Sent reach the sink with their roles and positions, in UID order, only new mail', async () => {
    await append('roles', 'INBOX', ['before the connector']);
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user: 'roles' }]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    expect(connector.states()).toEqual({ roles: 'idle' });

    await append('roles', 'INBOX', ['in 1', 'in 2', 'in 3']);
    await append('roles', 'Sent', ['sent 1', 'sent 2']);
    await waitFor(() => sink.messages.length === 5, 'five messages');

    const inbox = sink.messages.filter((m) => m.folder === 'INBOX');
    const sent = sink.messages.filter((m) => m.folder === 'Sent');
    expect(inbox.map((m) => subjectOf(m.raw))).toEqual(['in 1', 'in 2', 'in 3']);
    expect(inbox.map((m) => m.uid)).toEqual([2, 3, 4]);
    expect(inbox.every((m) => m.role === 'inbox' && m.account === 'roles' && /^\d+$/.test(m.uidValidity))).toBe(true);
    expect(sent.map((m) => subjectOf(m.raw))).toEqual(['sent 1', 'sent 2']);
    expect(sent.map((m) => m.role)).toEqual(['sent', 'sent']);
    expect(sent.map((m) => m.uid)).toEqual([1, 2]);
    expect(inbox[0]!.receivedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await counterFor(metrics.fetched, 'roles')).toBe(5);
    await waitFor(async () => (await checkpoints.checkpoint('roles', 'INBOX'))?.lastUid === 4, 'INBOX checkpoint at UID 4');
    expect((await checkpoints.checkpoint('roles', 'Sent'))?.lastUid).toBe(2);
    // Dovecot has CONDSTORE: the checkpoint keeps HIGHESTMODSEQ so an unchanged folder is not searched.
    expect((await checkpoints.checkpoint('roles', 'INBOX'))?.highestModseq).toMatch(/^\d+$/);
    const gauge = await metrics.connectorState.get();
    expect(gauge.values.find((v) => v.labels.account === 'roles' && v.labels.state === 'idle')?.value).toBe(1);
  });

  test('Kestrel never sets \\Seen', async () => {
    const { sink, checkpoints, metrics } = harness();
    const connector = startConnector({ config: connectorConfig(server, [{ user: 'seen', folders: ['INBOX'] }]), sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    await append('seen', 'INBOX', ['unread 1', 'unread 2']);
    await waitFor(() => sink.messages.length === 2, 'two messages');

    const client = await server.client('seen');
    try {
      await client.mailboxOpen('INBOX', { readOnly: true });
      const flags = await client.fetchAll('1:*', { uid: true, flags: true });
      expect(flags).toHaveLength(2);
      expect(flags.filter((m) => m.flags?.has('\\Seen'))).toEqual([]);
    } finally {
      await client.logout();
    }
  });

  test('a restarted connector resumes after its checkpoint with no repeats', async () => {
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user: 'restart', folders: ['INBOX'] }]);
    const first = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    await first.idle();
    await append('restart', 'INBOX', ['one', 'two']);
    await waitFor(() => sink.messages.length === 2, 'two messages');
    await first.close();

    await append('restart', 'INBOX', ['three (while down)', 'four (while down)']);
    const second = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(second);
    await waitFor(() => sink.messages.length === 4, 'four messages');
    await second.idle();
    await append('restart', 'INBOX', ['five']);
    await waitFor(() => sink.messages.length === 5, 'five messages');
    expect(sink.subjects()).toEqual(['one', 'two', 'three (while down)', 'four (while down)', 'five']);
    expect(sink.messages.map((m) => m.uid)).toEqual([1, 2, 3, 4, 5]);
  });

  test('close lets the message in hand reach the sink and its checkpoint, fetches no more, and a restart carries on', async () => {
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user: 'closing', folders: ['INBOX'] }]);
    const first = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    await first.idle();
    sink.acceptDelayMs = 400;
    await append('closing', 'INBOX', ['a', 'b', 'c', 'd']);
    await waitFor(() => sink.messages.length === 1, 'the first message');
    await first.close();
    const delivered = sink.messages.length;
    expect(delivered).toBeLessThan(4);
    expect((await checkpoints.checkpoint('closing', 'INBOX'))?.lastUid).toBe(delivered);

    sink.acceptDelayMs = 0;
    const second = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(second);
    await waitFor(() => sink.messages.length === 4, 'the rest after the restart');
    expect(sink.subjects()).toEqual(['a', 'b', 'c', 'd']);
  });

  test('a message the sink refuses is retried after a reconnect, and the checkpoint waits for it', async () => {
    const { sink, checkpoints, metrics } = harness();
    const connector = startConnector({ config: connectorConfig(server, [{ user: 'failing', folders: ['INBOX'] }]), sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    sink.failNext = 2;
    await append('failing', 'INBOX', ['refused twice', 'next']);
    await waitFor(() => sink.messages.length === 2, 'both messages');
    expect(sink.subjects()).toEqual(['refused twice', 'next']);
    expect(await counterFor(metrics.connectorErrors, 'failing')).toBe(2);
    expect((await checkpoints.checkpoint('failing', 'INBOX'))?.lastUid).toBe(2);
  });

  test('backfill takes mail received since the date, then new mail', async () => {
    await append('backfill', 'INBOX', ['old'], new Date('2026-08-20T10:00:00Z'));
    await append('backfill', 'INBOX', ['recent 1', 'recent 2'], new Date('2026-09-02T10:00:00Z'));
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user: 'backfill', folders: ['INBOX'], backfillSince: '2026-09-01' }]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    expect(sink.subjects()).toEqual(['recent 1', 'recent 2']);
    expect(sink.messages[0]!.receivedAt).toBe('2026-09-02T10:00:00.000Z');
    await append('backfill', 'INBOX', ['new']);
    await waitFor(() => sink.messages.length === 3, 'the new message');
    expect(sink.subjects().at(-1)).toBe('new');
  });

  test('a replaced folder (new UIDVALIDITY) is read again from the start and the checkpoint moves to the new epoch', async () => {
    const { sink, checkpoints, metrics } = harness();
    // The old session is not told about the new folder (Dovecot only logs an error): the poll finds it.
    const config = connectorConfig(server, [{ user: 'replaced', folders: ['\\Sent'], pollSeconds: 5 }]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    await append('replaced', 'Sent', ['first epoch']);
    await waitFor(() => sink.messages.length === 1, 'the first message');
    const before = (await checkpoints.checkpoint('replaced', 'Sent'))!;

    const admin = await server.client('replaced');
    try {
      await admin.mailboxDelete('Sent');
      await admin.mailboxCreate('Sent');
      await admin.append('Sent', mail({ subject: 'second epoch 1' }));
      await admin.append('Sent', mail({ subject: 'second epoch 2' }));
    } finally {
      await admin.logout();
    }
    await waitFor(() => sink.messages.length === 3, 'the new epoch');
    expect(sink.subjects()).toEqual(['first epoch', 'second epoch 1', 'second epoch 2']);
    expect(sink.messages[1]!.uidValidity).not.toBe(before.uidValidity);
    expect(sink.messages.slice(1).map((m) => m.uid)).toEqual([1, 2]);
    await waitFor(async () => (await checkpoints.checkpoint('replaced', 'Sent'))?.uidValidity === sink.messages[1]!.uidValidity, 'checkpoint in the new epoch');
  });

  test('when the server drops every session the connector reconnects and carries on', async () => {
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user: 'dropped' }]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    await server.dropConnections();
    await append('dropped', 'INBOX', ['after the drop']);
    await append('dropped', 'Sent', ['sent after the drop']);
    await waitFor(() => sink.messages.length === 2, 'mail after the drop');
    expect(sink.subjects().sort()).toEqual(['after the drop', 'sent after the drop']);
    expect(await counterFor(metrics.connectorErrors, 'dropped')).toBeGreaterThanOrEqual(1);
  });

  test('when the server restarts on the same port the connector reconnects and carries on', async () => {
    const { sink, checkpoints, metrics } = harness();
    const config = connectorConfig(server, [{ user: 'restarted', folders: ['INBOX'] }]);
    const connector = startConnector({ config, sink, checkpoints, metrics, logger: silent });
    running.push(connector);
    await connector.idle();
    await append('restarted', 'INBOX', ['before restart']);
    await waitFor(() => sink.messages.length === 1, 'mail before the restart');
    await server.restart();
    await append('restarted', 'INBOX', ['after restart']);
    await waitFor(() => sink.messages.length === 2, 'mail after the restart');
    expect(sink.subjects()).toEqual(['before restart', 'after restart']);
  });
});
