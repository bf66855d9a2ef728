/**
 * Sign-in with the trust's identity provider (Microsoft Entra, Google) by OpenID Connect: the
 * authorization code flow with PKCE, state and nonce (openid-client). What the flow must remember
 * between leaving and coming back travels in a short-lived cookie sealed with AES-256-GCM under a
 * key derived from Kestrel's own, so any review process of the trust can finish it.
 *
 * Accounts are never created here: an identity signs in to the account already bound to it, or
 * the first time to the account whose email matches its verified address, which it is then bound
 * to (users.oidc_subject), so a later change of address at the provider cannot move it elsewhere.
 */
import * as client from 'openid-client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LOOPBACK } from '../../config/operations-schema.js';
import type { ReviewConfig } from '../../config/review-schema.js';
import type { User } from '../../flags/users.js';
import { deriveKey, readSecret, seal, unseal } from '../../queue/secret.js';
import type { ReviewDeps } from '../context.js';
import { safeNext } from './next.js';
import { cookieOptions, startSession } from './session.js';

export const OIDC_START_PATH = '/auth/oidc';
export const OIDC_CALLBACK_PATH = '/auth/oidc/callback';
const FLOW_COOKIE = 'kestrel_oidc';
const FLOW_AAD = Buffer.from('kestrel-oidc-flow:1');
/** Time to sign in at the provider (a password, a second factor) and come back. */
const FLOW_MS = 10 * 60_000;

interface Flow {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
  next: string;
  /** ms since the epoch. */
  expires: number;
}

/** Why an OIDC sign-in failed: the audit log's reason; the person is shown one generic text. */
type OidcFailure = 'flow_missing' | 'flow_expired' | 'provider_refused' | 'no_email' | 'email_unverified' | 'no_account' | 'bound_elsewhere' | 'disabled';

class OidcRefusal extends Error {
  constructor(
    readonly reason: OidcFailure,
    readonly user: User | null = null,
  ) {
    super(reason);
  }
}

function baseUrl(deps: ReviewDeps, request: FastifyRequest): string {
  return deps.config.review.publicUrl ?? `${request.protocol}://${request.host}`;
}

export function registerOidc(app: FastifyInstance, deps: ReviewDeps, oidc: NonNullable<ReviewConfig['oidc']>): void {
  const flowKey = deriveKey(deps.keys.header, 'review oidc flow');
  const flowCookie = cookieOptions(deps.config.review, { path: '/auth/oidc', maxAge: FLOW_MS / 1000 });
  let discovered: Promise<client.Configuration> | undefined;

  // Discovered on first use, not at start: the UI still serves local sign-in while the provider is unreachable.
  function configuration(): Promise<client.Configuration> {
    const issuer = new URL(oidc.issuer);
    // review-schema.ts allows plain http for a loopback issuer only (tests).
    const insecure = issuer.protocol === 'http:' && LOOPBACK.has(issuer.hostname);
    discovered ??= client
      .discovery(issuer, oidc.clientId, readSecret(oidc.clientSecret, 'review.oidc.clientSecret'), undefined, { timeout: 10, ...(insecure ? { execute: [client.allowInsecureRequests] } : {}) })
      .catch((error: unknown) => {
        discovered = undefined;
        throw new Error(`review.oidc.issuer ${oidc.issuer}: discovery failed: ${(error as Error).message}`, { cause: error });
      });
    return discovered;
  }

  async function refuse(request: FastifyRequest, reply: FastifyReply, refusal: OidcRefusal): Promise<FastifyReply> {
    await deps.store.appendAudit({
      actorId: null,
      actor: 'anonymous',
      role: null,
      action: 'auth.login_failed',
      target: refusal.user ? `user:${refusal.user.id}` : null,
      details: { method: 'oidc', reason: refusal.reason },
      ip: request.ip,
    });
    return reply.redirect('/login?error=oidc', 303);
  }

  /**
   * The address and whether it is verified, from the ID token or, when the provider keeps them
   * for the userinfo endpoint (as conforming providers do), from there.
   */
  async function addressOf(config: client.Configuration, tokens: client.TokenEndpointResponse, claims: client.IDToken): Promise<{ address: unknown; verified: unknown }> {
    const claim = oidc.emailClaim;
    if (claims[claim] !== undefined) return { address: claims[claim], verified: claims.email_verified };
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub).catch((error: unknown) => {
      deps.logger.warn({ err: (error as Error).message }, 'review UI: OIDC userinfo request failed');
      throw new OidcRefusal('provider_refused');
    });
    return { address: info[claim], verified: info.email_verified };
  }

  async function accountFor(config: client.Configuration, tokens: client.TokenEndpointResponse, claims: client.IDToken): Promise<User> {
    const subject = `${claims.iss}|${claims.sub}`;
    const bound = await deps.store.userByOidcSubject(subject);
    if (bound) return bound;
    const { address, verified } = await addressOf(config, tokens, claims);
    if (typeof address !== 'string' || !address.includes('@')) throw new OidcRefusal('no_email');
    if (oidc.emailClaim === 'email' && verified !== true) throw new OidcRefusal('email_unverified');
    const user = await deps.store.userByEmail(address);
    if (!user) throw new OidcRefusal('no_account');
    // Bound to another identity: an address reused at the provider must not take over the account.
    if (user.oidcBound || !(await deps.store.bindOidcSubject(user.id, subject))) throw new OidcRefusal('bound_elsewhere', user);
    deps.logger.info({ userId: user.id }, 'review UI: OIDC identity bound to its account');
    return (await deps.store.user(user.id)) ?? user;
  }

  app.get<{ Querystring: { next?: string } }>(OIDC_START_PATH, async (request, reply) => {
    let config: client.Configuration;
    try {
      config = await configuration();
    } catch (error) {
      deps.logger.error({ err: (error as Error).message }, 'review UI: OIDC sign-in unavailable');
      return reply.redirect('/login?error=oidc_unavailable', 303);
    }
    const flow: Flow = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      redirectUri: `${baseUrl(deps, request)}${OIDC_CALLBACK_PATH}`,
      next: safeNext(request.query.next),
      expires: deps.now().getTime() + FLOW_MS,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: flow.redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    reply.setCookie(FLOW_COOKIE, seal(Buffer.from(JSON.stringify(flow)), flowKey, FLOW_AAD).toString('base64url'), flowCookie);
    return reply.redirect(url.href, 303);
  });

  app.get(OIDC_CALLBACK_PATH, async (request, reply) => {
    const sealed = request.cookies[FLOW_COOKIE];
    reply.clearCookie(FLOW_COOKIE, flowCookie);
    let flow: Flow;
    try {
      if (sealed === undefined) throw new OidcRefusal('flow_missing');
      flow = JSON.parse(unseal(Buffer.from(sealed, 'base64url'), flowKey, FLOW_AAD).toString('utf8')) as Flow;
    } catch {
      return refuse(request, reply, new OidcRefusal('flow_missing'));
    }
    if (flow.expires <= deps.now().getTime()) return refuse(request, reply, new OidcRefusal('flow_expired'));
    let user: User;
    try {
      const at = request.url.indexOf('?');
      const search = at === -1 ? '' : request.url.slice(at);
      const config = await configuration();
      const tokens = await client
        .authorizationCodeGrant(config, new URL(`${flow.redirectUri}${search}`), {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        })
        .catch((error: unknown) => {
          deps.logger.warn({ err: (error as Error).message }, 'review UI: OIDC sign-in refused by the provider or failed its checks');
          throw new OidcRefusal('provider_refused');
        });
      user = await accountFor(config, tokens, tokens.claims()!);
    } catch (error) {
      if (error instanceof OidcRefusal) return refuse(request, reply, error);
      throw error;
    }
    if (user.disabledAt) return refuse(request, reply, new OidcRefusal('disabled', user));
    await startSession(deps, request, reply, user.id);
    await deps.store.appendAudit({ actorId: user.id, actor: user.username, role: user.role, action: 'auth.login', target: `user:${user.id}`, details: { method: 'oidc' }, ip: request.ip });
    return reply.redirect(flow.next, 303);
  });
}
