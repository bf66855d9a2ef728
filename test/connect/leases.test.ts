/**
 * Connectors sharing accounts through leases on a real Redis: two split the accounts between them,
 * each account watched by exactly one; when one dies without releasing (SIGKILL) the other takes
 * its accounts over within the lease time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startConnector, type ConnectorHandle } from '../../src/connect/connector.js';
import { leaseKey } from '../../src/connect/leases.js';
import { dovecotAvailable, startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { redisAvailable, startRedis, type RedisServer } from '../harness/redis.js';
import { connectorConfig, harness, mail, silent, waitFor } from './support.js';

const USERS = ['ann', 'ben', 'cat', 'dan'];
const CONNECT = { leaseSeconds: 5, reconnectMinMs: 100, reconnectMaxMs: 1_000 };
const SWEEP_MS = 300;

describe.skipIf(!dovecotAvailable() || !redisAvailable())('account leases on Redis', () => {
  let server: DovecotServer;
  let redisServer: RedisServer;
  const clients: Redis[] = [];
  const connectors: ConnectorHandle[] = [];
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    [server, redisServer] = await Promise.all([startDovecot({ users: USERS.map((name) => ({ name, password: 'secret' })) }), startRedis()]);
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(connectors.map((c) => c.close()));
    for (const client of clients) client.disconnect();
    await Promise.all([server?.stop(), redisServer?.stop()]);
  });

  function redis(): Redis {
    const client = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  }

  function start(prefix: string, owner: string) {
    const config = connectorConfig(
      server,
      USERS.map((user) => ({ user, folders: ['INBOX'] })),
      { connect: CONNECT, queue: { prefix } },
    );
    const parts = harness();
    const connector = startConnector({ config, ...parts, logger: silent, redis: redis(), owner, tuning: { leaseSweepMs: SWEEP_MS } });
    connectors.push(connector);
    return { connector, ...parts };
  }

  async function holders(prefix: string): Promise<Array<string | null>> {
    const client = clients[0] ?? redis();
    return Promise.all(USERS.map((user) => client.get(leaseKey(prefix, user))));
  }

  async function appendToAll(subject: string): Promise<void> {
    for (const user of USERS) {
      const client = await server.client(user);
      try {
        await client.append('INBOX', mail({ subject: `${subject} for ${user}` }));
      } finally {
        await client.logout();
      }
    }
  }

  test('two connectors split the accounts and each account is watched once', async () => {
    const a = start('split', 'connector-a');
    await waitFor(() => a.connector.heldAccounts().length === 4, 'the first connector holding all four');
    const b = start('split', 'connector-b');
    await waitFor(() => a.connector.heldAccounts().length === 2 && b.connector.heldAccounts().length === 2, 'a two-two split');
    expect([...a.connector.heldAccounts(), ...b.connector.heldAccounts()].sort()).toEqual(USERS);
    const owners = await holders('split');
    expect(owners.filter((o) => o === 'connector-a')).toHaveLength(2);
    expect(owners.filter((o) => o === 'connector-b')).toHaveLength(2);

    await Promise.all([a.connector.idle(), b.connector.idle()]);
    await appendToAll('shared');
    await waitFor(() => a.sink.messages.length + b.sink.messages.length === 4, 'one message per account');
    const accounts = [...a.sink.messages, ...b.sink.messages].map((m) => m.account).sort();
    expect(accounts).toEqual(USERS);
    expect(a.sink.messages.every((m) => a.connector.heldAccounts().includes(m.account))).toBe(true);

    await a.connector.close();
    expect((await holders('split')).filter((o) => o === 'connector-a')).toEqual([]);
    await waitFor(() => b.connector.heldAccounts().length === 4, 'the survivor taking the released accounts');
  });

  test('a connector whose lease is taken stops watching that account, and takes it back once it is free', async () => {
    const holder = start('stolen', 'holder');
    await waitFor(() => holder.connector.heldAccounts().length === 4, 'all four held');
    await holder.connector.idle();
    await redis().set(leaseKey('stolen', 'ben'), 'intruder', 'PX', 3_000);
    await waitFor(() => !holder.connector.heldAccounts().includes('ben'), 'ben released after the failed renewal', 5_000);
    expect(holder.connector.heldAccounts().sort()).toEqual(['ann', 'cat', 'dan']);
    await waitFor(() => holder.connector.heldAccounts().includes('ben'), 'ben taken back after the intruder lease expired', 10_000);
    expect(await redis().get(leaseKey('stolen', 'ben'))).toBe('holder');
  });

  test('a connector killed without releasing loses its accounts to the other within the lease time', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/connect/connector-child.ts'], {
      env: {
        ...process.env,
        KESTREL_CHILD: JSON.stringify({ host: server.host, port: server.port, redisUrl: redisServer.url, users: USERS, owner: 'doomed', connect: CONNECT, leaseSweepMs: SWEEP_MS }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await waitFor(async () => (await holders('kestrel')).every((o) => o === 'doomed'), 'the child holding every account', 20_000);

    const survivor = start('kestrel', 'survivor');
    await waitFor(() => survivor.connector.heldAccounts().length === 2, 'the survivor taking its share');
    const doomed = (await holders('kestrel')).flatMap((owner, i) => (owner === 'doomed' ? [USERS[i]!] : []));
    expect(doomed).toHaveLength(2);

    child.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(() => survivor.connector.heldAccounts().length === 4, 'the survivor taking over', CONNECT.leaseSeconds * 1000 + 5_000);
    expect(Date.now() - killedAt).toBeLessThan(CONNECT.leaseSeconds * 1000 + 5_000);
    expect((await holders('kestrel')).every((o) => o === 'survivor')).toBe(true);

    await survivor.connector.idle();
    await appendToAll('after takeover');
    await waitFor(() => survivor.sink.messages.length >= 4, 'mail for every account');
    expect(survivor.sink.messages.filter((m) => doomed.includes(m.account)).length).toBeGreaterThanOrEqual(2);
  });
});
