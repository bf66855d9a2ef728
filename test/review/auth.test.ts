/**
 * Sign-in, sessions and CSRF over real HTTP: the review server on loopback, the store on PGlite,
 * the store's clock moved by the test for lockouts and session expiry.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import type { User } from '../../src/flags/users.js';
import { CONCURRENT_HASHES, hashing, hashPassword, needsRehash, verifyPassword, WAITING_HASHES } from '../../src/review/auth/password.js';
import { Semaphore, SemaphoreFullError } from '../../src/review/auth/semaphore.js';
import type { ReviewDeps } from '../../src/review/context.js';
import { buildReviewApp, startReviewServer, type ReviewServer } from '../../src/review/server.js';
import { parseConfig } from '../../src/config/load.js';
import { makeCertificates, opensslAvailable } from '../harness/certs.js';
import { pgliteBackend, silent, type Backend } from '../flags/support.js';
import { CookieClient, csrfOf, signIn } from './http.js';
import { idleHealth, reviewConfig } from './support.js';

const PASSWORD = 'correct horse battery';
let backend: Backend;
let store: SqlFlagStore;
let server: ReviewServer;
let clock = new Date('2026-11-21T09:00:00Z');
let monitor: User;
let deps: ReviewDeps;

const minutes = (n: number) => new Date(clock.getTime() + n * 60_000);

beforeAll(async () => {
  backend = await pgliteBackend();
  store = createSqlFlagStore((await backend.fresh()).client, silent);
  await store.migrate();
  const passwordHash = await hashPassword(PASSWORD);
  monitor = await store.createUser({ username: 'mona', displayName: 'Mona Monitor', role: 'monitor', passwordHash });
  await store.createUser({ username: 'ivan', displayName: 'Ivan Admin', role: 'ict_admin', passwordHash });
  await store.createUser({ username: 'oidc-only', displayName: 'No Password', role: 'auditor' });
  deps = { config: reviewConfig(), store, logger: silent, keys: { header: Buffer.alloc(32, 1), original: Buffer.alloc(32, 2) }, health: idleHealth, now: () => clock };
  server = await startReviewServer(deps, '127.0.0.1:0', { loginAttemptsPerMinute: 1000 });
});

afterAll(async () => {
  await server?.close();
  await store?.close();
  await backend?.stop();
});

async function auditActions(): Promise<Array<{ action: string; actor: string; details: Record<string, unknown> }>> {
  return (await store.auditEntries({}, { offset: 0, limit: 200 })).items.map(({ action, actor, details }) => ({ action, actor, details }));
}

describe('passwords', () => {
  it('are scrypt with a 16-byte salt in a self-describing string, and verify only the right password', async () => {
    const stored = await hashPassword('a long enough secret');
    expect(stored).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(needsRehash(stored)).toBe(false);
    expect(await hashPassword('a long enough secret')).not.toBe(stored);
    expect(await verifyPassword('a long enough secret', stored)).toBe(true);
    expect(await verifyPassword('a long enough secreT', stored)).toBe(false);
    expect(await verifyPassword('anything', 'not-a-hash')).toBe(false);
  });

  it('verify a hash of an older cost, which then needs rehashing', async () => {
    const old = await hashPassword('a long enough secret', { ln: 14, r: 8, p: 1 });
    expect(old).toMatch(/^\$scrypt\$ln=14,r=8,p=1\$/);
    expect(await verifyPassword('a long enough secret', old)).toBe(true);
    expect(needsRehash(old)).toBe(true);
  });

  it('run at most 4 scrypts at once; the others wait their turn', async () => {
    // The limit is on scrypt calls whatever their cost: a cheap one keeps the test quick.
    const stored = await hashPassword('a long enough secret', { ln: 12, r: 8, p: 1 });
    const checks = Array.from({ length: 10 }, () => verifyPassword('a long enough secret', stored));
    expect({ active: hashing.active, waiting: hashing.waiting }).toEqual({ active: 4, waiting: 6 });
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, hashing.active)), 5);
    try {
      expect(await Promise.all(checks)).toEqual(Array(10).fill(true));
    } finally {
      clearInterval(watch);
    }
    expect(most).toBeLessThanOrEqual(4);
    expect({ active: hashing.active, waiting: hashing.waiting }).toEqual({ active: 0, waiting: 0 });
  });
});

describe('Semaphore', () => {
  it('runs tasks in arrival order as slots free, and frees the slot of a task that throws', async () => {
    const semaphore = new Semaphore(2);
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const task = (n: number) => semaphore.run(() => new Promise<number>((resolve, reject) => {
      started.push(n);
      releases.push(() => (n === 1 ? reject(new Error('task 1 failed')) : resolve(n)));
    }));
    const runs = [1, 2, 3, 4].map(task);
    await Promise.resolve();
    expect(started).toEqual([1, 2]);
    releases[0]!();
    await expect(runs[0]).rejects.toThrow('task 1 failed');
    expect(started).toEqual([1, 2, 3]);
    releases[1]!();
    releases[2]!();
    await Promise.all([runs[1], runs[2]]);
    expect(started).toEqual([1, 2, 3, 4]);
    releases[3]!();
    expect(await runs[3]).toBe(4);
    expect({ active: semaphore.active, waiting: semaphore.waiting }).toEqual({ active: 0, waiting: 0 });
  });
});

describe('Semaphore limits', () => {
  it('refuses a task at once when maxWaiting already wait', async () => {
    const semaphore = new Semaphore(1, 1);
    let release: () => void = () => {};
    const first = semaphore.run(() => new Promise<void>((resolve) => (release = resolve)));
    const second = semaphore.run(async () => 'second');
    await expect(semaphore.run(async () => 'third')).rejects.toBeInstanceOf(SemaphoreFullError);
    release();
    await first;
    expect(await second).toBe('second');
    expect(await semaphore.run(async () => 'later')).toBe('later');
  });
});

describe('the review server', () => {
  it('sends signed-out visitors to sign in, and answers every page with no-store and the strict CSP', async () => {
    const client = new CookieClient(server.url);
    const users = await client.get('/users?x=1');
    expect(users.status).toBe(303);
    expect(users.location).toBe('/login?next=%2Fusers%3Fx%3D1');
    const login = await client.get(users.location!);
    expect(login.status).toBe(200);
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect(login.headers.get('content-security-policy')).toBe("default-src 'none';style-src 'self';img-src 'self' data:;form-action 'self';frame-ancestors 'none';base-uri 'none'");
    expect(login.body).not.toMatch(/<script|style=/i);
    expect(login.body).toContain('name="next" value="/users?x=1"');
    const missing = await client.get('/no/such/page');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    const css = await client.get('/assets/kestrel.css');
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.body).toContain('area: sign-in and users');
  });

  it('signs in with the right password: a fresh HttpOnly SameSite=Lax cookie whose SHA-256 alone is stored, and back to the page asked for', async () => {
    const client = new CookieClient(server.url);
    const response = await signIn(client, 'ivan', PASSWORD, '/users');
    expect(response.status).toBe(303);
    expect(response.location).toBe('/users');
    const cookie = response.setCookies.find((c) => c.startsWith('kestrel_session='))!;
    expect(cookie).toMatch(/^kestrel_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const token = client.cookies.get('kestrel_session')!;
    expect(await store.session(createHash('sha256').update(token).digest('hex'), clock)).toMatchObject({ reviewer: { username: 'ivan', role: 'ict_admin' } });
    const page = await client.get('/users');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Ivan Admin');
    const actions = await auditActions();
    expect(actions).toContainEqual({ action: 'auth.login', actor: 'ivan', details: { method: 'password' } });
  });

  it('refuses a wrong password and an unknown user alike, audits the attempt without the password, or a name that is no account', async () => {
    const client = new CookieClient(server.url);
    const wrong = await signIn(client, 'mona', 'not the password');
    // A password typed into the username box must not land in the audit log.
    const unknown = await signIn(client, 'my secret passphrase', 'not the password');
    const noPassword = await signIn(client, 'oidc-only', 'not the password');
    for (const r of [wrong, unknown, noPassword]) {
      expect(r.status).toBe(401);
      expect(r.body).toContain('Sign-in failed. Check your username and password.');
      expect(client.cookies.has('kestrel_session')).toBe(false);
    }
    const failed = (await auditActions()).filter((a) => a.action === 'auth.login_failed');
    expect(failed.map((a) => [a.actor, a.details.username, a.details.reason])).toEqual(
      expect.arrayContaining([
        ['anonymous', 'mona', 'wrong_password'],
        ['anonymous', undefined, 'unknown_user'],
        ['anonymous', 'oidc-only', 'no_password'],
      ]),
    );
    expect(failed.find((a) => a.details.reason === 'unknown_user')!.details).toEqual({ method: 'password', reason: 'unknown_user' });
    expect(JSON.stringify(failed)).not.toContain('not the password');
    expect(JSON.stringify(await store.auditEntries({}, { offset: 0, limit: 200 }))).not.toContain('my secret passphrase');
    await store.recordLoginSuccess(monitor.id);
  });

  it('stores a password of an older cost again at the current cost when it signs in, keeping its other sessions', async () => {
    const old = await hashPassword(PASSWORD, { ln: 14, r: 8, p: 1 });
    const user = await store.createUser({ username: 'olda', displayName: 'Old Hash', role: 'auditor', passwordHash: old });
    const first = new CookieClient(server.url);
    expect((await signIn(first, 'olda', PASSWORD)).status).toBe(303);
    const rehashed = (await store.loginRecord('olda'))!.passwordHash!;
    expect(rehashed).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$/);
    expect(await verifyPassword(PASSWORD, rehashed)).toBe(true);
    const second = new CookieClient(server.url);
    expect((await signIn(second, 'olda', PASSWORD)).status).toBe(303);
    expect((await store.loginRecord('olda'))!.passwordHash).toBe(rehashed);
    expect((await first.get('/')).location).toBe('/audit');
    // A password set meanwhile is not overwritten by a rehash of the old one.
    expect(await store.rehashPassword(user.id, old, await hashPassword('another password'))).toBe(false);
  });

  it('refuses a sign-in form without its token or from another origin', async () => {
    const client = new CookieClient(server.url);
    const form = await client.get('/login');
    const token = csrfOf(form.body);
    expect((await client.post('/login', { username: 'mona', password: PASSWORD }, { origin: server.url })).status).toBe(403);
    expect((await client.post('/login', { _csrf: token, username: 'mona', password: PASSWORD }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await client.post('/login', { _csrf: token, username: 'mona', password: PASSWORD }, { referer: 'https://evil.example/form' })).status).toBe(403);
    const stranger = new CookieClient(server.url);
    expect((await stranger.post('/login', { _csrf: token, username: 'mona', password: PASSWORD })).status).toBe(403);
    // No Origin (or "null" under the no-referrer policy): the cookie token decides.
    expect((await client.post('/login', { _csrf: token, username: 'mona', password: PASSWORD }, { origin: 'null' })).status).toBe(303);
  });

  it('answers 403 to a role without the permission, and to a POST without the session’s CSRF token', async () => {
    const client = new CookieClient(server.url);
    await signIn(client, 'mona', PASSWORD);
    const users = await client.get('/users');
    expect(users.status).toBe(403);
    expect(users.body).toContain('Your role does not give access to this page.');
    expect((await client.get('/')).location).toBe('/flags');
    const page = await client.get('/login?next=/');
    expect(page.status).toBe(303);
    expect((await client.post('/logout', {})).status).toBe(403);
    expect((await client.post('/logout', { _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await client.post('/logout', { _csrf: [] as string[] })).status).toBe(403);
    expect(client.cookies.has('kestrel_session')).toBe(true);
  });

  it('signs out: the session row goes, so a copy of the cookie opens nothing', async () => {
    const client = new CookieClient(server.url);
    await signIn(client, 'ivan', PASSWORD);
    const copy = client.cookies.get('kestrel_session')!;
    const page = await client.get('/users');
    const out = await client.post('/logout', { _csrf: csrfOf(page.body) });
    expect(out.status).toBe(303);
    expect(out.location).toBe('/login?done=signed_out');
    expect(client.cookies.has('kestrel_session')).toBe(false);
    expect((await client.get(out.location!)).body).toContain('You are signed out.');
    const thief = new CookieClient(server.url);
    thief.cookies.set('kestrel_session', copy);
    expect((await thief.get('/users')).status).toBe(303);
    expect(await auditActions()).toContainEqual({ action: 'auth.logout', actor: 'ivan', details: {} });
  });

  it('locks an account for 15 minutes after 5 failures in a row, even for the right password', async () => {
    const client = new CookieClient(server.url);
    for (let i = 0; i < 5; i++) expect((await signIn(client, 'mona', `wrong ${i}`)).status).toBe(401);
    expect((await store.userByUsername('mona'))!.lockedUntil).toEqual(minutes(15));
    expect((await signIn(client, 'mona', PASSWORD)).status).toBe(401);
    const saved = clock;
    clock = minutes(14);
    expect((await signIn(client, 'mona', PASSWORD)).status).toBe(401);
    clock = new Date(saved.getTime() + 15 * 60_000 + 1000);
    expect((await signIn(client, 'mona', PASSWORD)).status).toBe(303);
    expect((await store.userByUsername('mona'))!).toMatchObject({ failedLogins: 0, lockedUntil: null });
    expect((await auditActions()).filter((a) => a.action === 'auth.login_failed' && a.details.reason === 'locked')).toHaveLength(2);
  });

  it('ends a session after the idle time, and after the absolute time however busy', async () => {
    const idle = new CookieClient(server.url);
    await signIn(idle, 'ivan', PASSWORD);
    clock = minutes(29);
    expect((await idle.get('/users')).status).toBe(200);
    clock = minutes(29);
    expect((await idle.get('/users')).status).toBe(200);
    clock = minutes(31);
    const expired = await idle.get('/users');
    expect(expired.status).toBe(303);
    expect(expired.location).toBe('/login?next=%2Fusers');
    expect(idle.cookies.has('kestrel_session')).toBe(false);

    const busy = new CookieClient(server.url);
    await signIn(busy, 'ivan', PASSWORD);
    const start = clock;
    for (let hour = 0.4; hour < 12; hour += 0.4) {
      clock = new Date(start.getTime() + hour * 3_600_000);
      expect((await busy.get('/users')).status).toBe(200);
    }
    clock = new Date(start.getTime() + 12 * 3_600_000);
    expect((await busy.get('/users')).status).toBe(303);
  });

  it('ends every session of an account whose role changes or that is disabled', async () => {
    const changed = new CookieClient(server.url);
    await signIn(changed, 'mona', PASSWORD);
    expect((await changed.get('/')).location).toBe('/flags');
    await store.updateUser(monitor.id, { role: 'dpo' });
    expect((await changed.get('/')).location).toBe('/login');
    await signIn(changed, 'mona', PASSWORD);
    expect((await changed.get('/')).location).toBe('/flags');
    await store.updateUser(monitor.id, { displayName: 'Mona M.' });
    expect((await changed.get('/')).location).toBe('/flags');
    await store.setDisabled(monitor.id, true, clock);
    expect((await changed.get('/')).location).toBe('/login');
    expect((await signIn(changed, 'mona', PASSWORD)).status).toBe(401);
    await store.setDisabled(monitor.id, false, clock);
    await store.updateUser(monitor.id, { role: 'monitor' });
  });

  it('answers a sign-in "busy" (503) while the password checks are full, and audits no name', async () => {
    // Fill every running and waiting scrypt slot with tasks that finish when the test says.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const holders = Array.from({ length: CONCURRENT_HASHES + WAITING_HASHES }, () => hashing.run(() => gate));
    await expect(hashing.run(async () => {})).rejects.toBeInstanceOf(SemaphoreFullError);
    const own = await startReviewServer(deps, '127.0.0.1:0');
    try {
      const busy = await signIn(new CookieClient(own.url), 'mona', PASSWORD);
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('5');
      expect(busy.body).toContain('Kestrel is busy checking other sign-ins');
      release();
      await Promise.all(holders);
      const rows = await store.auditEntries({ action: 'auth.login_failed' }, { offset: 0, limit: 1 });
      expect(rows.items[0]?.details).toEqual({ method: 'password', reason: 'busy' });
      expect((await signIn(new CookieClient(own.url), 'mona', PASSWORD)).status).toBe(303);
    } finally {
      release();
      await own.close();
    }
  });

  it('rate-limits sign-in attempts per address', async () => {
    const limited = await startReviewServer(deps, '127.0.0.1:0', { loginAttemptsPerMinute: 3 });
    try {
      const client = new CookieClient(limited.url);
      for (let i = 0; i < 3; i++) expect((await signIn(client, 'nobody', 'guess')).status).toBe(401);
      const refused = await signIn(client, 'nobody', 'guess');
      expect(refused.status).toBe(429);
      expect(refused.body).toContain('Too many sign-in attempts');
      expect((await client.get('/login')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('behind one proxy (trustProxy: 1), limits and audits the address the proxy appended, whatever the client wrote before it', async () => {
    const proxied = await startReviewServer({ ...deps, config: reviewConfig('review: { trustProxy: 1 }\n') }, '127.0.0.1:0', { loginAttemptsPerMinute: 3 });
    try {
      const client = new CookieClient(proxied.url);
      const via = (spoofed: string, real: string) => ({ 'x-forwarded-for': `${spoofed}, ${real}` });
      for (let i = 0; i < 3; i++) expect((await signIn(client, 'mona', 'wrong again', undefined, via(`198.51.100.${i}`, '203.0.113.7'))).status).toBe(401);
      expect((await signIn(client, 'mona', 'wrong again', undefined, via('198.51.100.99', '203.0.113.7'))).status).toBe(429);
      expect((await signIn(client, 'mona', 'wrong again', undefined, via('203.0.113.8', '203.0.113.7'))).status).toBe(429);
      expect((await signIn(client, 'mona', 'wrong again', undefined, via('203.0.113.7', '203.0.113.8'))).status).toBe(401);
      const ips = (await store.auditEntries({ action: 'auth.login_failed' }, { offset: 0, limit: 4 })).items.map((e) => e.ip);
      expect(ips).toEqual(['203.0.113.8', '203.0.113.7', '203.0.113.7', '203.0.113.7']);
    } finally {
      await proxied.close();
      await store.recordLoginSuccess(monitor.id);
    }
  });

  it('will not start with a hop count on an address beyond loopback', async () => {
    await expect(startReviewServer({ ...deps, config: reviewConfig('review: { trustProxy: 1 }\n') }, '0.0.0.0:0')).rejects.toThrow(/review\.trustProxy: a number of proxies is trusted only when listen is on loopback/);
  });

  it('behind proxies named by address, takes the first address that is not one of them', async () => {
    const proxied = await startReviewServer({ ...deps, config: reviewConfig('review: { trustProxy: ["127.0.0.0/8", "10.1.2.3"] }\n') }, '127.0.0.1:0', { loginAttemptsPerMinute: 1000 });
    try {
      const client = new CookieClient(proxied.url);
      expect((await signIn(client, 'mona', 'wrong again', undefined, { 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.1.2.3' })).status).toBe(401);
      expect((await store.auditEntries({ action: 'auth.login_failed' }, { offset: 0, limit: 1 })).items[0]!.ip).toBe('203.0.113.9');
    } finally {
      await proxied.close();
      await store.recordLoginSuccess(monitor.id);
    }
  });

  it('marks the cookie Secure when the UI is reached over https', async () => {
    const app = await buildReviewApp({ ...deps, config: reviewConfig('review: { publicUrl: "https://review.oakfield.sch.uk/" }\n') });
    try {
      const form = await app.inject({ method: 'GET', url: '/login' });
      const loginCookie = form.cookies.find((c) => c.name === 'kestrel_login')!;
      const response = await app.inject({
        method: 'POST',
        url: '/login',
        headers: { origin: 'https://review.oakfield.sch.uk', cookie: `kestrel_login=${loginCookie.value}`, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: loginCookie.value, username: 'ivan', password: PASSWORD }).toString(),
      });
      expect(response.statusCode).toBe(303);
      expect(response.cookies.find((c) => c.name === 'kestrel_session')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/' });
      expect(response.headers['strict-transport-security']).toBe('max-age=15552000');
    } finally {
      await app.close();
    }
  });
});

describe('review config', () => {
  const parse = (review: string) => () => parseConfig('kestrel.yaml', `review: ${review}\n`);

  it('has defaults for loopback, and refuses plain http beyond this machine or to an identity provider', () => {
    expect(parse('{}')().review).toEqual({ listen: '127.0.0.1:8025', trustProxy: false, sessionIdleMinutes: 30, sessionMaxHours: 12 });
    expect(parse('{ publicUrl: "https://review.oakfield.sch.uk/" }')().review.publicUrl).toBe('https://review.oakfield.sch.uk');
    expect(parse('{ listen: "0.0.0.0:8025", publicUrl: "https://review.oakfield.sch.uk" }')().review.listen).toBe('0.0.0.0:8025');
    expect(parse('{ listen: "0.0.0.0:8025" }')).toThrow(/review\.listen.*would serve passwords and sessions in clear/);
    expect(parse('{ oidc: { issuer: "http://login.example.com", clientId: k, clientSecret: { env: S } } }')).toThrow(/review\.oidc\.issuer.*must use https/);
    expect(parse('{ oidc: { issuer: "https://accounts.google.com", clientId: k, clientSecret: { env: S } } }')().review.oidc).toMatchObject({ label: 'Sign in with your trust account', emailClaim: 'email' });
    expect(parse('{ sessionIdleMinutes: 1 }')).toThrow(/review\.sessionIdleMinutes/);
  });

  it('trusts a proxy by hop count or address, never every X-Forwarded-For entry', () => {
    expect(parse('{ trustProxy: 1 }')().review.trustProxy).toBe(1);
    expect(parse('{ trustProxy: [10.0.0.0/8, "fd00::/8", 192.0.2.1] }')().review.trustProxy).toEqual(['10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
    expect(parse('{ trustProxy: true }')).toThrow(/review\.trustProxy: expected false, the number of proxies in front.*true would trust any address a client writes/);
    expect(parse('{ trustProxy: 0 }')).toThrow(/review\.trustProxy/);
    expect(parse('{ trustProxy: 1.5 }')).toThrow(/review\.trustProxy/);
    expect(parse('{ trustProxy: [] }')).toThrow(/review\.trustProxy/);
    expect(parse('{ trustProxy: [10.0.0.0/33] }')).toThrow(/review\.trustProxy\[0\]: expected an IP address or CIDR block/);
    expect(parse('{ trustProxy: [proxy.local] }')).toThrow(/review\.trustProxy\[0\]/);
  });

  it('takes a hop count only on a loopback listen, where nobody but the proxy on this machine can connect', () => {
    const open = 'listen: "0.0.0.0:8025", publicUrl: "https://review.oakfield.sch.uk"';
    expect(parse(`{ ${open}, trustProxy: 1 }`)).toThrow(/review\.trustProxy: a number of proxies is trusted only when listen is on loopback.*give the proxies' addresses or CIDR blocks instead/);
    expect(parse(`{ listen: false, trustProxy: 1 }`)).toThrow(/review\.trustProxy: a number of proxies/);
    expect(parse(`{ ${open}, trustProxy: [10.0.0.5] }`)().review.trustProxy).toEqual(['10.0.0.5']);
    expect(parse('{ listen: "localhost:8025", trustProxy: 2 }')().review.trustProxy).toBe(2);
  });
});

describe.skipIf(!opensslAvailable)('the review server over https', () => {
  it('serves its own TLS, with HSTS and a Secure session cookie', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kestrel-review-tls-'));
    try {
      const { caFile, cert, key } = makeCertificates(dir);
      writeFileSync(join(dir, 'server.crt'), cert);
      writeFileSync(join(dir, 'server.key.pem'), key);
      const config = reviewConfig(`review: { tls: { cert: ${join(dir, 'server.crt')}, key: ${join(dir, 'server.key.pem')} } }\n`);
      const tls = await startReviewServer({ ...deps, config }, '127.0.0.1:0');
      try {
        expect(tls.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
        const answer = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
          const req = httpsRequest(`${tls.url}/login`, { ca: readFileSync(caFile) }, (res) => {
            res.resume();
            resolve({ status: res.statusCode!, headers: res.headers });
          });
          req.on('error', reject);
          req.end();
        });
        expect(answer.status).toBe(200);
        expect(answer.headers['strict-transport-security']).toBe('max-age=15552000');
        expect(String(answer.headers['set-cookie'])).toMatch(/^kestrel_login=[^;]+; Max-Age=43200; Path=\/login; HttpOnly; Secure; SameSite=Strict$/);
      } finally {
        await tls.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
