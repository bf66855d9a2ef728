/** `kestrel users ...` and `kestrel review` against an embedded store. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { runReviewCommand } from '../../src/cli/review-command.js';
import { loadConfig } from '../../src/config/load.js';
import { openFlagStore } from '../../src/flags/open.js';
import type { ReviewServer } from '../../src/review/server.js';
import { captureIo } from '../helpers/cli.js';
import { silent } from '../flags/support.js';
import { CookieClient, signIn } from '../review/http.js';

let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-review-cli-'));
  file = join(dir, 'kestrel.yaml');
  writeFileSync(
    file,
    [
      `store: { dataDir: ${join(dir, 'data')} }`,
      'log: { level: silent }',
      'review: { listen: "127.0.0.1:0" }',
      'trust:',
      '  domains: [oakfield.sch.uk]',
      '  academies:',
      '    - name: Oakfield Primary',
      '      patterns: ["*@pupils.oakfield.sch.uk"]',
      '',
    ].join('\n'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => void delete process.env.KESTREL_PASSWORD);

async function kestrel(password: string | null, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (password === null) delete process.env.KESTREL_PASSWORD;
  else process.env.KESTREL_PASSWORD = password;
  const io = captureIo();
  const code = await main([...args, '--config', file], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('kestrel users', () => {
  it('creates the first ict_admin with the password from KESTREL_PASSWORD, and refuses what is wrong, naming it', async () => {
    expect(await kestrel(null, 'users', 'list')).toMatchObject({ code: 0, stdout: 'no users yet: create the first ict_admin with kestrel users add NAME --role ict_admin\n' });
    expect(await kestrel('first admin password', 'users', 'add', 'Ivan', '--role', 'ict_admin', '--name', 'Ivan Admin', '--email', 'Ivan@Oakfield.sch.uk')).toEqual({ code: 0, stdout: 'user ivan created (ict_admin)\n', stderr: '' });
    expect(await kestrel('first admin password', 'users', 'add', 'ivan', '--role', 'monitor')).toMatchObject({ code: 2, stderr: 'kestrel: username: ivan is taken\n' });
    expect(await kestrel('dsl password 123', 'users', 'add', 'dee', '--role', 'dsl')).toMatchObject({ code: 2, stderr: 'kestrel: academy: a dsl needs the academy whose flags they see\n' });
    expect(await kestrel('dsl password 123', 'users', 'add', 'dee', '--role', 'dsl', '--academy', 'Nowhere')).toMatchObject({ code: 2, stderr: 'kestrel: academy: "Nowhere" is not one of trust.academies (Oakfield Primary)\n' });
    expect(await kestrel('short', 'users', 'add', 'dee', '--role', 'dsl', '--academy', 'Oakfield Primary')).toMatchObject({ code: 2, stderr: expect.stringContaining('kestrel: password: at least 12 characters') });
    expect(await kestrel(null, 'users', 'add', 'dee', '--role', 'dsl', '--academy', 'Oakfield Primary')).toMatchObject({ code: 2, stderr: 'kestrel: users: set KESTREL_PASSWORD, or run on a terminal to type the password\n' });
    expect(await kestrel('dsl password 123', 'users', 'add', 'dee', '--role', 'boss')).toMatchObject({ code: 2, stderr: 'kestrel: role: one of monitor, dsl, dpo, ict_admin, auditor\n' });
    expect(await kestrel('dsl password 123', 'users', 'add', 'dee', '--role', 'dsl', '--academy', 'Oakfield Primary')).toMatchObject({ code: 0, stdout: 'user dee created (dsl, Oakfield Primary)\n' });
    expect(await kestrel(null, 'users', 'remove', 'dee')).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: kestrel users add USERNAME') });
    const list = await kestrel(null, 'users', 'list');
    expect(list.stdout.split('\n')).toEqual([
      'USERNAME  ROLE       ACADEMY           EMAIL                 STATE',
      'dee       dsl        Oakfield Primary  -                     active',
      'ivan      ict_admin  -                 ivan@oakfield.sch.uk  active',
      '',
    ]);
  });

  it('disables, enables, sets a new password and changes role, academy, name or email, each audited as the command line', async () => {
    expect(await kestrel(null, 'users', 'disable', 'dee')).toMatchObject({ code: 0, stdout: 'user dee disabled; its sessions have ended\n' });
    expect((await kestrel(null, 'users', 'list')).stdout).toMatch(/dee .* disabled/);
    expect(await kestrel(null, 'users', 'enable', 'dee')).toMatchObject({ code: 0, stdout: 'user dee enabled\n' });
    expect(await kestrel('another password 1', 'users', 'passwd', 'dee')).toMatchObject({ code: 0, stdout: 'password of dee changed; its sessions have ended\n' });
    expect(await kestrel(null, 'users', 'disable', 'nobody')).toMatchObject({ code: 2, stderr: 'kestrel: there is no user nobody\n' });
    expect(await kestrel(null, 'users', 'set', 'dee', '--email', 'Dee@Oakfield.sch.uk', '--name', 'Dee S')).toMatchObject({ code: 0, stdout: 'user dee changed (displayName, email); its sessions have ended\n' });
    expect(await kestrel(null, 'users', 'set', 'dee', '--role', 'monitor')).toMatchObject({ code: 0, stdout: 'user dee changed (role, academy); its sessions have ended\n' });
    expect(await kestrel(null, 'users', 'set', 'dee', '--role', 'dsl')).toMatchObject({ code: 2, stderr: 'kestrel: academy: a dsl needs the academy whose flags they see\n' });
    expect(await kestrel(null, 'users', 'set', 'dee', '--role', 'dsl', '--academy', 'Oakfield Primary', '--email', '')).toMatchObject({ code: 0, stdout: 'user dee changed (email, role, academy); its sessions have ended\n' });
    expect(await kestrel(null, 'users', 'set', 'dee', '--name', 'Dee S')).toMatchObject({ code: 0, stdout: 'user dee unchanged\n' });
    expect(await kestrel(null, 'users', 'set', 'dee')).toMatchObject({ code: 2, stderr: expect.stringContaining('users set: give at least one of --role') });
    expect(await kestrel(null, 'users', 'set', 'nobody', '--name', 'N')).toMatchObject({ code: 2, stderr: 'kestrel: there is no user nobody\n' });
    const store = await openFlagStore(loadConfig(file).store, silent);
    try {
      const rows = (await store.auditEntries({}, { offset: 0, limit: 50 })).items;
      expect(rows.map((r) => [r.actor, r.action, r.details.via]).reverse()).toEqual([
        ['kestrel', 'user.create', 'command line'],
        ['kestrel', 'user.create', 'command line'],
        ['kestrel', 'user.disable', 'command line'],
        ['kestrel', 'user.enable', 'command line'],
        ['kestrel', 'user.update', 'command line'],
        ['kestrel', 'user.update', 'command line'],
        ['kestrel', 'user.update', 'command line'],
        ['kestrel', 'user.update', 'command line'],
      ]);
      expect(rows[0]!.details).toMatchObject({ changed: ['email', 'role', 'academy'], role: 'dsl', academy: 'Oakfield Primary', fromRole: 'monitor', via: 'command line' });
    } finally {
      await store.close();
    }
  });
});

describe('kestrel review', () => {
  it('serves the UI on the store until stopped, where the accounts made on the command line sign in', async () => {
    const stop = new AbortController();
    let started!: (server: ReviewServer) => void;
    const listening = new Promise<ReviewServer>((resolve) => (started = resolve));
    const run = runReviewCommand(loadConfig(file), { signal: stop.signal, onStarted: started });
    const server = await listening;
    try {
      const client = new CookieClient(server.url);
      expect((await signIn(client, 'dee', 'another password 1')).status).toBe(303);
      expect((await client.get('/')).location).toBe('/flags');
      expect((await signIn(new CookieClient(server.url), 'ivan', 'first admin password')).status).toBe(303);
    } finally {
      stop.abort();
    }
    expect(await run).toBe(0);
    await expect(fetch(server.url)).rejects.toThrow();
  });
});
