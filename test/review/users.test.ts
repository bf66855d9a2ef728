/** The users page for ict_admin, over real HTTP with real sign-in, on PGlite. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { hashPassword } from '../../src/review/auth/password.js';
import { startReviewServer, type ReviewServer } from '../../src/review/server.js';
import { pgliteBackend, silent, type Backend } from '../flags/support.js';
import { CookieClient, csrfOf, signIn } from './http.js';
import { idleHealth, reviewConfig } from './support.js';

const PASSWORD = 'admin password 1';
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

async function actions(action: string) {
  return (await store.auditEntries({ action }, { offset: 0, limit: 50 })).items.map((e) => ({ actor: e.actor, target: e.target, details: e.details }));
}

describe('the users page', () => {
  it('creates accounts, a dsl only with an academy of the trust, and names the wrong field', async () => {
    const created = await post('/users', { username: 'Mona', displayName: 'Mona <img src=x onerror=alert(1)>', role: 'monitor', email: 'mona@oakfield.sch.uk', password: 'monitor password' });
    expect(created.status).toBe(303);
    const mona = (await store.userByUsername('mona'))!;
    expect(created.location).toBe(`/users/${mona.id}?done=created`);
    const page = await admin.get(created.location!);
    expect(page.body).toContain('Account created.');
    expect(page.body).toContain('Mona &lt;img src=x onerror=alert(1)&gt;');
    expect(page.body).not.toContain('<img');

    const noAcademy = await post('/users', { username: 'dee', role: 'dsl', password: 'dsl password 12' });
    expect(noAcademy.status).toBe(400);
    expect(noAcademy.body).toContain('academy: a dsl needs the academy whose flags they see');
    expect(noAcademy.body).toContain('value="dee"');
    const unknownAcademy = await post('/users', { username: 'dee', role: 'dsl', academy: 'Elsewhere', password: 'dsl password 12' });
    expect(unknownAcademy.body).toContain('academy: &quot;Elsewhere&quot; is not one of trust.academies (Oakfield Primary, Oakfield High)');
    expect((await post('/users', { username: 'dee', role: 'dsl', academy: 'Oakfield High', password: 'short' })).body).toContain('password: at least 12 characters');
    expect((await post('/users', { username: 'dee', role: 'dsl', academy: 'Oakfield High', password: 'dsl password 12' })).status).toBe(303);
    expect(await store.userByUsername('dee')).toMatchObject({ role: 'dsl', academy: 'Oakfield High' });
    expect((await post('/users', { username: 'dee', role: 'monitor', password: 'dsl password 12' })).body).toContain('username: dee is taken');
    expect((await post('/users', { username: 'x y', role: 'monitor', password: 'dsl password 12' })).body).toContain('username: 1 to 64 letters');
    expect((await post('/users', { username: 'zed', role: 'root', password: 'dsl password 12' })).body).toContain('role: one of monitor, dsl, dpo, ict_admin, auditor');

    const list = await admin.get('/users');
    expect(list.body).toMatch(/<a href="\/users\/\d+">dee<\/a><\/td><td>dee<\/td><td>dsl<\/td><td>Oakfield High<\/td>/);
    expect(await actions('user.create')).toEqual(
      expect.arrayContaining([
        { actor: 'ivan', target: `user:${mona.id}`, details: { username: 'mona', role: 'monitor', academy: null, password: true } },
        expect.objectContaining({ details: expect.objectContaining({ username: 'dee', role: 'dsl', academy: 'Oakfield High' }) }),
      ]),
    );
  });

  it('changes a role, which signs the account out everywhere, and audits what changed', async () => {
    const mona = (await store.userByUsername('mona'))!;
    const session = new CookieClient(server.url);
    await signIn(session, 'mona', 'monitor password');
    expect((await session.get('/')).location).toBe('/flags');
    expect((await post(`/users/${mona.id}`, { displayName: 'Mona', email: 'mona@oakfield.sch.uk', role: 'dsl', academy: 'Oakfield Primary' })).location).toBe(`/users/${mona.id}?done=updated`);
    expect(await store.user(mona.id)).toMatchObject({ role: 'dsl', academy: 'Oakfield Primary', displayName: 'Mona' });
    expect((await session.get('/')).location).toBe('/login');
    expect(await actions('user.update')).toContainEqual({ actor: 'ivan', target: `user:${mona.id}`, details: { changed: ['displayName', 'role', 'academy'], role: 'dsl', academy: 'Oakfield Primary', fromRole: 'monitor' } });
    expect((await post(`/users/${mona.id}`, { displayName: 'Mona', role: 'dsl', academy: 'Nowhere' })).status).toBe(400);
  });

  it('resets a password, disables and enables an account, never the administrator’s own', async () => {
    const dee = (await store.userByUsername('dee'))!;
    const session = new CookieClient(server.url);
    await signIn(session, 'dee', 'dsl password 12');
    expect((await post(`/users/${dee.id}/password`, { password: 'a new dsl password' })).location).toBe(`/users/${dee.id}?done=password`);
    expect((await session.get('/')).location).toBe('/login');
    expect((await signIn(session, 'dee', 'dsl password 12')).status).toBe(401);
    expect((await signIn(session, 'dee', 'a new dsl password')).status).toBe(303);
    expect((await post(`/users/${dee.id}/disable`, {})).location).toBe(`/users/${dee.id}?done=disabled`);
    expect((await session.get('/')).location).toBe('/login');
    expect((await signIn(session, 'dee', 'a new dsl password')).status).toBe(401);
    expect((await admin.get('/users')).body).toContain('<span class="badge user-disabled">disabled</span>');
    expect((await post(`/users/${dee.id}/enable`, {})).location).toBe(`/users/${dee.id}?done=enabled`);
    expect((await signIn(session, 'dee', 'a new dsl password')).status).toBe(303);

    const self = await post(`/users/${adminId}/disable`, {});
    expect(self.status).toBe(400);
    expect(self.body).toContain('You cannot disable your own account.');
    await post(`/users/${adminId}`, { displayName: 'Ivan A', role: 'monitor' });
    expect(await store.user(adminId)).toMatchObject({ role: 'ict_admin', displayName: 'Ivan A' });
    expect((await admin.get('/users')).status).toBe(200);

    expect(await actions('user.disable')).toEqual([{ actor: 'ivan', target: `user:${dee.id}`, details: { username: 'dee' } }]);
    expect(await actions('user.enable')).toHaveLength(1);
    expect(await actions('user.update')).toContainEqual({ actor: 'ivan', target: `user:${dee.id}`, details: { changed: ['password'] } });
  });

  it('is for ict_admin only, and answers 404 for an account that does not exist', async () => {
    expect((await admin.get('/users/999999')).status).toBe(404);
    expect((await admin.get('/users/abc')).status).toBe(404);
    const dee = new CookieClient(server.url);
    await signIn(dee, 'dee', 'a new dsl password');
    expect((await dee.get('/users')).status).toBe(403);
    const page = await dee.get('/login?next=/');
    expect(page.status).toBe(303);
  });
});
