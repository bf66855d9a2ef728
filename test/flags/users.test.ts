/** Reviewers' accounts and sessions on PGlite and PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { UserError } from '../../src/flags/users.js';
import { type Backend, pgliteBackend, postgresBackend, silent } from './support.js';

const at = new Date('2026-11-21T10:00:00Z');
const later = (minutes: number) => new Date(at.getTime() + minutes * 60_000);
const policy = { maxFailures: 3, lockMs: 15 * 60_000 };

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('users on $name', ({ start }) => {
  let backend: Backend;
  let store: SqlFlagStore;

  beforeAll(async () => {
    backend = await start();
    store = createSqlFlagStore((await backend.fresh()).client, silent);
    await store.migrate();
  });

  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  it('creates accounts with lower-case usernames and emails, and names the field that clashes', async () => {
    const user = await store.createUser({ username: ' Dee.Sl ', displayName: 'Dee', role: 'dsl', academy: 'Oakfield Primary', email: 'Dee@Oakfield.sch.uk', passwordHash: '$scrypt$x' });
    expect(user).toMatchObject({ username: 'dee.sl', email: 'dee@oakfield.sch.uk', role: 'dsl', academy: 'Oakfield Primary', hasPassword: true, oidcBound: false, disabledAt: null });
    await expect(store.createUser({ username: 'DEE.SL', displayName: 'x', role: 'monitor' })).rejects.toThrow(new UserError('username', 'username: dee.sl is taken'));
    await expect(store.createUser({ username: 'other', displayName: 'x', role: 'monitor', email: 'dee@oakfield.sch.uk' })).rejects.toMatchObject({ field: 'email' });
    await expect(store.createUser({ username: 'nodsl', displayName: 'x', role: 'dsl' })).rejects.toMatchObject({ field: 'academy' });
    await expect(store.createUser({ username: 'mon', displayName: 'x', role: 'monitor', academy: 'Oakfield Primary' })).rejects.toMatchObject({ field: 'academy' });
    expect((await store.loginRecord('DEE.SL'))?.passwordHash).toBe('$scrypt$x');
    expect((await store.userByEmail('DEE@oakfield.sch.uk'))?.id).toBe(user.id);
    expect((await store.users()).map((u) => u.username)).toEqual(['dee.sl']);
  });

  it('keeps sessions by token hash, of enabled accounts only, until they expire', async () => {
    const user = await store.createUser({ username: 'sess', displayName: 'S', role: 'monitor' });
    await store.createSession({ idHash: 'h1', userId: user.id, csrfToken: 'c1', createdAt: at, expiresAt: later(30) });
    expect(await store.session('h1', later(29))).toMatchObject({ reviewer: { id: user.id, username: 'sess', role: 'monitor', academy: null }, csrfToken: 'c1', expiresAt: later(30) });
    expect(await store.session('h1', later(30))).toBeNull();
    await store.touchSession('h1', later(20), later(50));
    expect(await store.session('h1', later(45))).toMatchObject({ lastSeenAt: later(20) });
    await store.setDisabled(user.id, true, later(46));
    expect(await store.session('h1', later(47))).toBeNull();
    await store.setDisabled(user.id, false, later(46));
    await store.createSession({ idHash: 'h2', userId: user.id, csrfToken: 'c2', createdAt: at, expiresAt: later(10) });
    await store.createSession({ idHash: 'h3', userId: user.id, csrfToken: 'c3', createdAt: at, expiresAt: later(100) });
    expect(await store.deleteExpiredSessions(later(11))).toBe(1);
    await store.deleteSession('h3');
    expect(await store.session('h3', at)).toBeNull();
  });

  it('ends the sessions of an account that is disabled, gets a new role, academy or password; not for a new name', async () => {
    const user = await store.createUser({ username: 'ends', displayName: 'E', role: 'dsl', academy: 'Oakfield Primary' });
    const open = async (hash: string) => store.createSession({ idHash: hash, userId: user.id, csrfToken: 'c', createdAt: at, expiresAt: later(60) });
    const alive = async (hash: string) => (await store.session(hash, at)) !== null;
    await open('e1');
    expect((await store.updateUser(user.id, { displayName: 'Ed' }))?.displayName).toBe('Ed');
    expect(await alive('e1')).toBe(true);
    await store.updateUser(user.id, { academy: 'Oakfield High' });
    expect(await alive('e1')).toBe(false);
    await open('e2');
    // Leaving dsl drops the academy.
    expect(await store.updateUser(user.id, { role: 'monitor' })).toMatchObject({ role: 'monitor', academy: null });
    expect(await alive('e2')).toBe(false);
    await open('e3');
    expect(await store.setPassword(user.id, '$scrypt$new')).toBe(true);
    expect(await alive('e3')).toBe(false);
    await open('e4');
    expect(await store.deleteSessionsOf(user.id)).toBe(1);
    expect(await store.updateUser(999_999, { displayName: 'x' })).toBeNull();
    await expect(store.updateUser(user.id, { role: 'dsl' })).rejects.toMatchObject({ field: 'academy' });
  });

  it('locks an account after repeated failures, without extending the lock, and starts again after it', async () => {
    const user = await store.createUser({ username: 'lock', displayName: 'L', role: 'auditor', passwordHash: '$scrypt$x' });
    expect(await store.recordLoginFailure(user.id, at, policy)).toBeNull();
    expect(await store.recordLoginFailure(user.id, at, policy)).toBeNull();
    expect(await store.recordLoginFailure(user.id, at, policy)).toEqual(later(15));
    expect(await store.recordLoginFailure(user.id, later(5), policy)).toEqual(later(15));
    expect(await store.userByUsername('lock')).toMatchObject({ lockedUntil: later(15), failedLogins: 0 });
    // Disabling and enabling it again leaves the lock to run out.
    await store.setDisabled(user.id, true, later(6));
    await store.setDisabled(user.id, false, later(7));
    expect(await store.userByUsername('lock')).toMatchObject({ lockedUntil: later(15), disabledAt: null });
    expect(await store.recordLoginFailure(user.id, later(16), policy)).toBeNull();
    expect(await store.userByUsername('lock')).toMatchObject({ failedLogins: 1 });
    await store.recordLoginSuccess(user.id);
    expect(await store.userByUsername('lock')).toMatchObject({ failedLogins: 0, lockedUntil: null });
  });

  it('binds an OIDC identity once, and finds the account by it', async () => {
    const user = await store.createUser({ username: 'oidc', displayName: 'O', role: 'monitor', email: 'o@oakfield.sch.uk' });
    expect(await store.bindOidcSubject(user.id, 'https://idp|123')).toBe(true);
    expect(await store.bindOidcSubject(user.id, 'https://idp|456')).toBe(false);
    expect((await store.userByOidcSubject('https://idp|123'))).toMatchObject({ id: user.id, oidcBound: true, hasPassword: false });
  });

  it('unbinds the OIDC identity of an account whose email changes, and ends its sessions; not for the same address', async () => {
    const user = await store.createUser({ username: 'moves', displayName: 'M', role: 'monitor', email: 'm@oakfield.sch.uk' });
    await store.bindOidcSubject(user.id, 'https://idp|moves');
    await store.createSession({ idHash: 'm1', userId: user.id, csrfToken: 'c', createdAt: at, expiresAt: later(60) });
    expect(await store.updateUser(user.id, { email: ' M@Oakfield.sch.uk ' })).toMatchObject({ oidcBound: true });
    expect(await store.session('m1', at)).not.toBeNull();
    expect(await store.updateUser(user.id, { email: 'someone.else@oakfield.sch.uk' })).toMatchObject({ email: 'someone.else@oakfield.sch.uk', oidcBound: false });
    expect(await store.userByOidcSubject('https://idp|moves')).toBeNull();
    expect(await store.session('m1', at)).toBeNull();
    expect(await store.bindOidcSubject(user.id, 'https://idp|other')).toBe(true);
    await store.createSession({ idHash: 'm2', userId: user.id, csrfToken: 'c', createdAt: at, expiresAt: later(60) });
    expect(await store.updateUser(user.id, { email: null })).toMatchObject({ email: null, oidcBound: false });
    expect(await store.session('m2', at)).toBeNull();
  });

  it('replaces a password hash with a rehash only while it is still the one stored, leaving sessions and lockout alone', async () => {
    const user = await store.createUser({ username: 'rehash', displayName: 'R', role: 'auditor', passwordHash: '$scrypt$old' });
    await store.createSession({ idHash: 'r1', userId: user.id, csrfToken: 'c', createdAt: at, expiresAt: later(60) });
    await store.recordLoginFailure(user.id, at, policy);
    const before = (await store.userByUsername('rehash'))!.updatedAt;
    expect(await store.rehashPassword(user.id, '$scrypt$old', '$scrypt$new')).toBe(true);
    expect((await store.userByUsername('rehash'))!.updatedAt.getTime()).toBeGreaterThan(before.getTime());
    expect((await store.loginRecord('rehash'))?.passwordHash).toBe('$scrypt$new');
    expect(await store.rehashPassword(user.id, '$scrypt$old', '$scrypt$newer')).toBe(false);
    expect((await store.loginRecord('rehash'))?.passwordHash).toBe('$scrypt$new');
    expect(await store.session('r1', at)).not.toBeNull();
    expect(await store.userByUsername('rehash')).toMatchObject({ failedLogins: 1 });
  });
});
