/** The users page for ict_admin, over real HTTP with real sign-in, on PGlite: no way into message content. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { hashPassword } from '../../src/review/auth/password.js';
import { startReviewServer, type ReviewServer } from '../../src/review/server.js';
import { pgliteBackend, silent, type Backend } from '../flags/support.js';
import { CookieClient, csrfOf, signIn } from './http.js';
import { idleHealth, reviewConfig } from './support.js';

const PASSWORD = 'admin password 1';
const MONITOR_PASSWORD = 'monitor password';
const DSL_PASSWORD = 'dsl password 12';
let backend: Backend;
let store: SqlFlagStore;
let server: ReviewServer;
let admin: CookieClient;
let adminId: number;

beforeAll(async () => {
  backend = await pgliteBackend();
  store = createSqlFlagStore((await backend.fresh()).client, silent);
  await store.migrate();
  adminId = (await store.createUser({ username: 'ivan', displayName: 'Ivan', role: 'ict_admin', passwordHash: await hashPassword(PASSWORD) })).id;
  // Content accounts come from `kestrel users` on the server.
  await store.createUser({ username: 'mona', displayName: 'Mona', role: 'monitor', email: 'mona@oakfield.sch.uk', passwordHash: await hashPassword(MONITOR_PASSWORD) });
  await store.createUser({ username: 'dee', displayName: 'Dee', role: 'dsl', academy: 'Oakfield High', email: 'dee@oakfield.sch.uk', passwordHash: await hashPassword(DSL_PASSWORD) });
  const deps = { config: reviewConfig(), store, logger: silent, keys: { header: Buffer.alloc(32, 1), original: Buffer.alloc(32, 2) }, health: idleHealth, now: () => new Date() };
  server = await startReviewServer(deps, '127.0.0.1:0', { loginAttemptsPerMinute: 1000 });
  admin = new CookieClient(server.url);
  expect((await signIn(admin, 'ivan', PASSWORD)).status).toBe(303);
});

afterAll(async () => {
  await server?.close();
  await store?.close();
  await backend?.stop();
});

async function post(path: string, form: Record<string, string>) {
  const page = await admin.get('/users');
  return admin.post(path, { _csrf: csrfOf(page.body), ...form });
}

const CONTENT_ROLE_FORMS: Array<Record<string, string>> = [{ role: 'monitor' }, { role: 'dpo' }, { role: 'dsl', academy: 'Oakfield High' }];

async function actions(action: string) {
  return (await store.auditEntries({ action }, { offset: 0, limit: 50 })).items.map((e) => ({ actor: e.actor, target: e.target, details: e.details }));
}

describe('the users page', () => {
  it('creates ict_admin and auditor accounts and names the wrong field', async () => {
    const list = await admin.get('/users');
    expect(list.body.match(/<option value="[a-z_]+"/g)).toEqual(['<option value="ict_admin"', '<option value="auditor"']);
    const created = await post('/users', { username: 'Audrey', displayName: 'Audrey <img src=x onerror=alert(1)>', role: 'auditor', email: 'audrey@oakfield.sch.uk', password: 'auditor password' });
    expect(created.status).toBe(303);
    const audrey = (await store.userByUsername('audrey'))!;
    expect(created.location).toBe(`/users/${audrey.id}?done=created`);
    const page = await admin.get(created.location!);
    expect(page.body).toContain('Account created.');
    expect(page.body).toContain('Audrey &lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).not.toContain('<img');

    expect((await post('/users', { username: 'ian', role: 'ict_admin', password: 'short' })).body).toContain('password: at least 12 characters');
    expect((await post('/users', { username: 'ian', role: 'ict_admin', password: 'second admin pw' })).status).toBe(303);
    expect(await store.userByUsername('ian')).toMatchObject({ role: 'ict_admin', academy: null });
    expect((await post('/users', { username: 'ian', role: 'auditor', password: 'second admin pw' })).body).toContain('username: ian is taken');
    expect((await post('/users', { username: 'x y', role: 'auditor', password: 'second admin pw' })).body).toContain('username: 1 to 64 letters');
    expect((await post('/users', { username: 'zed', role: 'root', password: 'second admin pw' })).body).toContain('role: one of monitor, dsl, dpo, ict_admin, auditor');
    expect(await actions('user.create')).toContainEqual({ actor: 'ivan', target: `user:${audrey.id}`, details: { username: 'audrey', role: 'auditor', academy: null, password: true } });
  });

  it('creates no account of a role that sees message content, and says where they are made', async () => {
    expect((await admin.get('/users')).body).toContain('Accounts that see message content (monitor, dsl, dpo) are created and changed on the server with <code>kestrel users</code>');
    for (const form of CONTENT_ROLE_FORMS) {
      const refused = await post('/users', { username: 'snoop', password: 'snooping password', ...form });
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('Accounts with a role that sees message content (monitor, dsl, dpo) are created, and their role, email and password changed, only with kestrel users on the server.');
      expect(refused.body).toContain('value="snoop"');
    }
    expect(await store.userByUsername('snoop')).toBeNull();
  });

  it('changes a role or email, which signs the account out everywhere, and audits what changed; never to a content role', async () => {
    const audrey = (await store.userByUsername('audrey'))!;
    const session = new CookieClient(server.url);
    await signIn(session, 'audrey', 'auditor password');
    expect((await session.get('/')).location).toBe('/audit');
    expect((await post(`/users/${audrey.id}`, { displayName: 'Audrey', email: 'audrey@oakfield.sch.uk', role: 'ict_admin' })).location).toBe(`/users/${audrey.id}?done=updated`);
    expect(await store.user(audrey.id)).toMatchObject({ role: 'ict_admin', displayName: 'Audrey' });
    expect((await session.get('/')).location).toBe('/login');
    expect(await actions('user.update')).toContainEqual({ actor: 'ivan', target: `user:${audrey.id}`, details: { changed: ['displayName', 'role'], role: 'ict_admin', academy: null, fromRole: 'auditor' } });

    await signIn(session, 'audrey', 'auditor password');
    expect((await post(`/users/${audrey.id}`, { displayName: 'Audrey', email: 'audrey.a@oakfield.sch.uk', role: 'ict_admin' })).status).toBe(303);
    expect((await session.get('/')).location).toBe('/login');

    for (const form of CONTENT_ROLE_FORMS) {
      const refused = await post(`/users/${audrey.id}`, { displayName: 'Audrey', email: 'audrey.a@oakfield.sch.uk', ...form });
      expect(refused.status).toBe(403);
      expect(refused.body).toContain('only with kestrel users on the server');
    }
    expect(await store.user(audrey.id)).toMatchObject({ role: 'ict_admin', academy: null });
  });

  it('gives no way into a content account: its password, email, role and academy are not changed here; it is renamed, disabled and enabled', async () => {
    const mona = (await store.userByUsername('mona'))!;
    const dee = (await store.userByUsername('dee'))!;
    const hash = (await store.loginRecord('mona'))!.passwordHash;
    const session = new CookieClient(server.url);
    await signIn(session, 'mona', MONITOR_PASSWORD);
    const page = await admin.get(`/users/${mona.id}`);
    expect(page.body).toContain('Set on the server: <code>kestrel users passwd mona</code>.');
    expect(page.body).not.toContain(`action="/users/${mona.id}/password"`);
    expect(page.body).not.toContain('name="email"');
    expect(page.body).not.toContain('name="role"');

    const password = await post(`/users/${mona.id}/password`, { password: 'admin knows this now' });
    expect(password.status).toBe(403);
    expect(password.body).toContain('only with kestrel users on the server');
    for (const [user, form] of [
      [mona, { displayName: 'Mona', email: 'ivan.private@example.com' }],
      [mona, { displayName: 'Mona', role: 'ict_admin' }],
      [dee, { displayName: 'Dee', academy: 'Oakfield Primary' }],
      [dee, { displayName: 'Dee', email: '' }],
    ] as const) {
      expect((await post(`/users/${user.id}`, form)).status).toBe(403);
    }
    expect(await store.loginRecord('mona')).toMatchObject({ user: { email: 'mona@oakfield.sch.uk', role: 'monitor' }, passwordHash: hash });
    expect(await store.user(dee.id)).toMatchObject({ email: 'dee@oakfield.sch.uk', role: 'dsl', academy: 'Oakfield High' });
    expect((await signIn(new CookieClient(server.url), 'mona', 'admin knows this now')).status).toBe(401);
    expect((await session.get('/')).location).toBe('/flags');

    expect((await post(`/users/${mona.id}`, { displayName: 'Mona M.' })).location).toBe(`/users/${mona.id}?done=updated`);
    expect(await store.user(mona.id)).toMatchObject({ displayName: 'Mona M.', email: 'mona@oakfield.sch.uk', role: 'monitor' });
    expect((await session.get('/')).location).toBe('/flags');
    expect((await post(`/users/${mona.id}/disable`, {})).location).toBe(`/users/${mona.id}?done=disabled`);
    expect((await session.get('/')).location).toBe('/login');
    expect((await post(`/users/${mona.id}/enable`, {})).location).toBe(`/users/${mona.id}?done=enabled`);
    expect((await signIn(session, 'mona', MONITOR_PASSWORD)).status).toBe(303);
  });

  it('resets a password, disables and enables an account, never the administrator’s own', async () => {
    const ian = (await store.userByUsername('ian'))!;
    const session = new CookieClient(server.url);
    await signIn(session, 'ian', 'second admin pw');
    expect((await post(`/users/${ian.id}/password`, { password: 'a new admin password' })).location).toBe(`/users/${ian.id}?done=password`);
    expect((await session.get('/')).location).toBe('/login');
    expect((await signIn(session, 'ian', 'second admin pw')).status).toBe(401);
    expect((await signIn(session, 'ian', 'a new admin password')).status).toBe(303);
    expect((await post(`/users/${ian.id}/disable`, {})).location).toBe(`/users/${ian.id}?done=disabled`);
    expect((await session.get('/')).location).toBe('/login');
    expect((await signIn(session, 'ian', 'a new admin password')).status).toBe(401);
    expect((await admin.get('/users')).body).toContain('<span class="badge user-disabled">disabled</span>');
    expect((await post(`/users/${ian.id}/enable`, {})).location).toBe(`/users/${ian.id}?done=enabled`);
    expect((await signIn(session, 'ian', 'a new admin password')).status).toBe(303);

    const self = await post(`/users/${adminId}/disable`, {});
    expect(self.status).toBe(400);
    expect(self.body).toContain('You cannot disable your own account.');
    await post(`/users/${adminId}`, { displayName: 'Ivan A', role: 'auditor' });
    expect(await store.user(adminId)).toMatchObject({ role: 'ict_admin', displayName: 'Ivan A' });
    expect((await admin.get('/users')).status).toBe(200);

    expect(await actions('user.disable')).toContainEqual({ actor: 'ivan', target: `user:${ian.id}`, details: { username: 'ian' } });
    expect(await actions('user.update')).toContainEqual({ actor: 'ivan', target: `user:${ian.id}`, details: { changed: ['password'] } });
  });

  it('is for ict_admin only, and answers 404 for an account that does not exist', async () => {
    expect((await admin.get('/users/999999')).status).toBe(404);
    expect((await admin.get('/users/abc')).status).toBe(404);
    const dee = new CookieClient(server.url);
    await signIn(dee, 'dee', DSL_PASSWORD);
    expect((await dee.get('/users')).status).toBe(403);
    const page = await dee.get('/login?next=/');
    expect(page.status).toBe(303);
  });
});
