/**
 * OIDC sign-in against a real OpenID provider (oidc-provider 9) on loopback: code flow with PKCE,
 * state and nonce; accounts matched on a verified email once, then by their bound subject; never
 * created. The review server and the provider share 127.0.0.1, as one browser's cookies would.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { buildReviewApp, startReviewServer, type ReviewServer } from '../../src/review/server.js';
import { pgliteBackend, silent, type Backend } from '../flags/support.js';
import { CookieClient, type HttpResponse } from './http.js';
import { idleHealth, reviewConfig } from './support.js';

/** The provider's people: subject -> claims. */
const ACCOUNTS: Record<string, { email: string; email_verified: boolean }> = {
  'olive-1': { email: 'Olive@Oakfield.sch.uk', email_verified: true },
  'olive-2': { email: 'olive@oakfield.sch.uk', email_verified: true },
  unverified: { email: 'uma@oakfield.sch.uk', email_verified: false },
  stranger: { email: 'stranger@oakfield.sch.uk', email_verified: true },
  disabled: { email: 'dora@oakfield.sch.uk', email_verified: true },
};

let backend: Backend;
let store: SqlFlagStore;
let review: ReviewServer;
let idp: Server;
let issuer: string;
/** Who signs in at the provider next. */
let signingIn = 'olive-1';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  backend = await pgliteBackend();
  store = createSqlFlagStore((await backend.fresh()).client, silent);
  await store.migrate();
  await store.createUser({ username: 'olive', displayName: 'Olive', role: 'monitor', email: 'olive@oakfield.sch.uk' });
  await store.createUser({ username: 'uma', displayName: 'Uma', role: 'monitor', email: 'uma@oakfield.sch.uk' });
  const dora = await store.createUser({ username: 'dora', displayName: 'Dora', role: 'dpo', email: 'dora@oakfield.sch.uk' });
  await store.setDisabled(dora.id, true, new Date());

  let handle: (request: IncomingMessage, response: ServerResponse) => void = (_q, s) => s.end();
  idp = createServer((request, response) => handle(request, response));
  issuer = await listen(idp);
  const config = reviewConfig(`review:\n  oidc:\n    issuer: ${issuer}\n    clientId: kestrel\n    clientSecret: { value: a-client-secret-long-enough-for-hs256 }\n    label: Sign in with Oakfield\n`);
  review = await startReviewServer({ config, store, logger: silent, keys: { header: Buffer.alloc(32, 1), original: Buffer.alloc(32, 2) }, health: idleHealth, now: () => new Date() }, '127.0.0.1:0');

  const provider = new Provider(issuer, {
    clients: [{ client_id: 'kestrel', client_secret: 'a-client-secret-long-enough-for-hs256', redirect_uris: [`${review.url}/auth/oidc/callback`], token_endpoint_auth_method: 'client_secret_basic' }],
    async findAccount(_ctx: unknown, id: string) {
      return { accountId: id, claims: async () => ({ sub: id, ...ACCOUNTS[id] }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['a cookie signing key for the test provider'] },
  });
  const callback = provider.callback();
  handle = (request, response) => {
    if (!request.url?.startsWith('/interaction/')) return callback(request, response);
    // The person signs in and consents at once: the provider's own pages are not under test.
    void (async () => {
      const details = await provider.interactionDetails(request, response);
      if (details.prompt.name === 'login') return provider.interactionFinished(request, response, { login: { accountId: signingIn } }, { mergeWithLastSubmission: false });
      const grant = new provider.Grant({ accountId: details.session!.accountId!, clientId: 'kestrel' });
      grant.addOIDCScope(String(details.params.scope));
      return provider.interactionFinished(request, response, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    })().catch((error: unknown) => {
      response.statusCode = 500;
      response.end(String(error));
    });
  };
});

afterAll(async () => {
  await review?.close();
  await new Promise((resolve) => idp?.close(resolve));
  await store?.close();
  await backend?.stop();
});

/** Starts at the sign-in button and follows every redirect until back on the review server with an answer. */
async function oidcSignIn(client: CookieClient, who: string, next = '/flags'): Promise<{ authorize: URL; final: HttpResponse }> {
  signingIn = who;
  let response = await client.get(`/auth/oidc?next=${encodeURIComponent(next)}`);
  const authorize = new URL(response.location!);
  let url = authorize;
  for (let hops = 0; hops < 10; hops++) {
    response = await client.get(url.href);
    if (!response.location) throw new Error(`stopped at ${url.href} with ${response.status}: ${response.body.slice(0, 200)}`);
    const back = url.origin === review.url && url.pathname === '/auth/oidc/callback';
    if (back) return { authorize, final: response };
    url = new URL(response.location, url);
  }
  throw new Error('too many redirects');
}

async function failures(): Promise<unknown[]> {
  return (await store.auditEntries({ action: 'auth.login_failed' }, { offset: 0, limit: 50 })).items.map((e) => e.details.reason);
}

describe('OIDC sign-in', () => {
  it('offers the button on the sign-in page', async () => {
    const page = await new CookieClient(review.url).get('/login?next=/flags');
    expect(page.body).toContain('<a class="button secondary" href="/auth/oidc?next=%2Fflags">Sign in with Oakfield</a>');
  });

  it('signs in the account whose email the provider verified, with PKCE, state and nonce, and binds the identity to it', async () => {
    const client = new CookieClient(review.url);
    const { authorize, final } = await oidcSignIn(client, 'olive-1');
    expect(authorize.origin).toBe(issuer);
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: 'kestrel',
      response_type: 'code',
      redirect_uri: `${review.url}/auth/oidc/callback`,
      code_challenge_method: 'S256',
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      state: expect.any(String),
      nonce: expect.any(String),
    });
    expect(final.status).toBe(303);
    expect(final.location).toBe('/flags');
    expect(client.cookies.has('kestrel_session')).toBe(true);
    expect(client.cookies.has('kestrel_oidc')).toBe(false);
    expect((await client.get('/')).location).toBe('/flags');
    expect(await store.userByOidcSubject(`${issuer}|olive-1`)).toMatchObject({ username: 'olive', oidcBound: true });
    const logins = (await store.auditEntries({ action: 'auth.login' }, { offset: 0, limit: 10 })).items;
    expect(logins.map((e) => [e.actor, e.details])).toEqual([['olive', { method: 'oidc' }]]);
  });

  it('keeps the account with the identity it was bound to: another with the same address is refused', async () => {
    const client = new CookieClient(review.url);
    const { final } = await oidcSignIn(client, 'olive-2');
    expect(final.location).toBe('/login?error=oidc');
    expect(client.cookies.has('kestrel_session')).toBe(false);
    const page = await client.get(final.location!);
    expect(page.body).toContain('Sign-in with your trust account did not work.');
    expect(await failures()).toContain('bound_elsewhere');
    // The bound identity still signs in.
    expect((await oidcSignIn(new CookieClient(review.url), 'olive-1')).final.location).toBe('/flags');
  });

  it('refuses an unverified address, an address with no account (creating none) and a disabled account', async () => {
    const before = (await store.users()).length;
    for (const who of ['unverified', 'stranger', 'disabled']) {
      const client = new CookieClient(review.url);
      expect((await oidcSignIn(client, who)).final.location).toBe('/login?error=oidc');
      expect(client.cookies.has('kestrel_session')).toBe(false);
    }
    expect(await failures()).toEqual(expect.arrayContaining(['email_unverified', 'no_account', 'disabled']));
    expect((await store.users()).length).toBe(before);
    expect(await store.userByUsername('uma')).toMatchObject({ oidcBound: false });
  });

  it('refuses a callback that another browser started, or with a state that is not its own', async () => {
    const victim = new CookieClient(review.url);
    signingIn = 'olive-1';
    let response = await victim.get('/auth/oidc');
    let url = new URL(response.location!);
    while (!(url.origin === review.url && url.pathname === '/auth/oidc/callback')) {
      response = await victim.get(url.href);
      url = new URL(response.location!, url);
    }
    // An attacker's browser, without the flow cookie, replays the code.
    const attacker = new CookieClient(review.url);
    expect((await attacker.get(url.href)).location).toBe('/login?error=oidc');
    // The right browser with a changed state.
    const forged = new URL(url);
    forged.searchParams.set('state', 'not-the-state');
    expect((await victim.get(forged.href)).location).toBe('/login?error=oidc');
    expect(victim.cookies.has('kestrel_session')).toBe(false);
    expect(await failures()).toEqual(expect.arrayContaining(['flow_missing', 'provider_refused']));
  });

  it('sends the person back to sign in with a password while the provider cannot be reached', async () => {
    const gone = createServer();
    const url = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    const config = reviewConfig(`review:\n  oidc:\n    issuer: ${url}\n    clientId: kestrel\n    clientSecret: { value: s }\n`);
    const app = await buildReviewApp({ config, store, logger: silent, keys: { header: Buffer.alloc(32, 1), original: Buffer.alloc(32, 2) }, health: idleHealth, now: () => new Date() });
    try {
      const response = await app.inject({ method: 'GET', url: '/auth/oidc' });
      expect(response.headers.location).toBe('/login?error=oidc_unavailable');
      expect((await app.inject({ method: 'GET', url: '/login?error=oidc_unavailable' })).body).toContain('Sign-in with your trust account is not available at the moment.');
    } finally {
      await app.close();
    }
  });
});
