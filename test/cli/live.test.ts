/** `kestrel run | connector | worker` refuse what they cannot do, with the reason and the exit status. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureIo } from '../helpers/cli.js';

let dir: string;
const ACCOUNT = 'accounts:\n  - { id: staff-hali, host: 127.0.0.1, port: 1, tls: none, user: alice, password: { value: secret } }\n';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-live-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function kestrel(yaml: string, ...args: string[]): Promise<{ code: number; stderr: string }> {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  const io = captureIo();
  const code = await main([...args, '--config', file], io);
  return { code, stderr: io.stderrText() };
}

describe('the live commands', () => {
  it('connector and worker need Redis, and a cluster needs PostgreSQL', async () => {
    expect(await kestrel(ACCOUNT, 'connector')).toEqual({ code: 2, stderr: 'kestrel: connector: set queue.redisUrl or REDIS_URL (without Redis, use `kestrel run`)\n' });
    expect(await kestrel('queue: { redisUrl: "redis://127.0.0.1:1" }\n', 'worker')).toEqual({ code: 2, stderr: 'kestrel: worker: cluster mode needs PostgreSQL: set store.url or DATABASE_URL\n' });
  });

  it('watch the configured mailboxes, not paths', async () => {
    expect(await kestrel(ACCOUNT, 'run', 'mail/')).toMatchObject({ code: 2, stderr: expect.stringContaining('run takes no PATH') });
  });

  it('exit 4 naming the field when a secret is unusable, before touching Redis', async () => {
    const yaml = `${ACCOUNT}queue: { redisUrl: "redis://127.0.0.1:1", key: { value: too-short } }\nstore: { dataDir: ${join(dir, 'data')} }\nmetrics: { listen: false }\nreview: { listen: false }\nlog: { level: silent }\n`;
    const { code, stderr } = await kestrel(yaml, 'run');
    expect(code).toBe(4);
    expect(stderr).toMatch(/^kestrel: cannot start: queue\.key: /);
    expect(stderr).not.toContain('too-short');
  });

  it('reject account settings that would send mail in clear or clash, naming the line', async () => {
    const clear = await kestrel('accounts:\n  - { id: a, host: imap.example.org, tls: none, user: u, password: { value: p } }\n', 'run');
    expect(clear.code).toBe(2);
    expect(clear.stderr).toContain(':2: accounts[0].tls: none is allowed only for a loopback host');
    const twice = await kestrel(`${ACCOUNT}${ACCOUNT.replace('accounts:\n', '')}`, 'run');
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('account id "staff-hali" is used twice');
    const neither = await kestrel('accounts:\n  - { id: a, host: 127.0.0.1, user: u }\n', 'run');
    expect(neither.stderr).toContain('give exactly one of password or oauth2');
  });
});
