/**
 * The review UI: sign-in (local accounts; OIDC when configured, see auth/oidc.ts) and sign-out.
 * The sign-in form posts before there is a session, so it carries its own token: a random value
 * in a SameSite=Strict cookie that the form must repeat, and an Origin (or Referer) that, when
 * the browser gives one, must be this server's.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkPassword } from '../auth/local.js';
import { safeNext } from '../auth/next.js';
import { registerOidc } from '../auth/oidc.js';
import { SemaphoreFullError } from '../auth/semaphore.js';
import { cookieOptions, endSession, randomToken, startSession, tokensMatch } from '../auth/session.js';
import type { ReviewDeps } from '../context.js';
import { html } from '../views/html.js';
import { errorPage, page } from '../views/layout.js';

export const LOGIN_PATH = '/login';
const LOGIN_COOKIE = 'kestrel_login';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const MAX_USERNAME = 200;
const MAX_PASSWORD = 1024;

const FAILED = 'Sign-in failed. Check your username and password. After five failed attempts an account is locked for 15 minutes.';
const BUSY = 'Kestrel is busy checking other sign-ins. Try again in a few seconds.';
/** Fixed texts for `?error=` and `?done=`: query text is never shown. */
const ERRORS: Record<string, string> = {
  oidc: 'Sign-in with your trust account did not work. If you have not used Kestrel before, ask your ICT team to add your account.',
  oidc_unavailable: 'Sign-in with your trust account is not available at the moment. Try again later, or sign in with a password.',
};
const DONE: Record<string, string> = { signed_out: 'You are signed out.' };

function field(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

function text(value: unknown, max: number): string {
  return typeof value === 'string' ? value.slice(0, max) : '';
}

/** The origins this server answers as: its publicUrl's, and the one the request was made to. */
function ownOrigins(deps: ReviewDeps, request: FastifyRequest): string[] {
  const origins = [`${request.protocol}://${request.host}`.toLowerCase()];
  if (deps.config.review.publicUrl) origins.push(new URL(deps.config.review.publicUrl).origin);
  return origins;
}

/**
 * A cross-site form names its own origin. Browsers send `Origin: null` under the pages'
 * no-referrer policy and some send none at all: then the cookie token and SameSite decide alone.
 */
function fromOwnOrigin(deps: ReviewDeps, request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null') return ownOrigins(deps, request).includes(origin.toLowerCase());
  const referer = request.headers.referer;
  if (referer === undefined) return true;
  try {
    return ownOrigins(deps, request).includes(new URL(referer).origin);
  } catch {
    return false;
  }
}

async function sendLoginPage(deps: ReviewDeps, request: FastifyRequest, reply: FastifyReply, options: { status: number; error?: string; notice?: string; username?: string; next: string }): Promise<FastifyReply> {
  const existing = request.cookies[LOGIN_COOKIE];
  const token = existing !== undefined && TOKEN.test(existing) ? existing : randomToken();
  reply.setCookie(LOGIN_COOKIE, token, cookieOptions(deps.config.review, { path: LOGIN_PATH, sameSite: 'strict', maxAge: 12 * 3600 }));
  const oidc = deps.config.review.oidc;
  const body = html`<div class="signin card">
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
<form method="post" action="${LOGIN_PATH}">
  <input type="hidden" name="_csrf" value="${token}">
  <input type="hidden" name="next" value="${options.next}">
  <label>Username <input name="username" autocomplete="username" required autofocus maxlength="${MAX_USERNAME}" value="${options.username ?? ''}"></label>
  <label>Password <input type="password" name="password" autocomplete="current-password" required maxlength="${MAX_PASSWORD}"></label>
  <button type="submit">Sign in</button>
</form>
${oidc ? html`<p class="oidc"><a class="button secondary" href="/auth/oidc?next=${encodeURIComponent(options.next)}">${oidc.label}</a></p>` : ''}
</div>`;
  return reply
    .code(options.status)
    .type('text/html; charset=utf-8')
    .send(page(request, { title: 'Sign in', body, ...(options.notice ? { notice: options.notice } : {}) }).value);
}

export function registerLogin(app: FastifyInstance, deps: ReviewDeps): void {
  app.get<{ Querystring: Record<string, string | undefined> }>(LOGIN_PATH, async (request, reply) => {
    const next = safeNext(request.query.next);
    if (request.reviewer) return reply.redirect(next, 303);
    const { error, done } = request.query;
    return sendLoginPage(deps, request, reply, {
      status: 200,
      next,
      ...(error && ERRORS[error] ? { error: ERRORS[error] } : {}),
      ...(done && DONE[done] ? { notice: DONE[done] } : {}),
    });
  });

  app.post(LOGIN_PATH, async (request, reply) => {
    const next = safeNext(field(request.body, 'next'));
    if (!tokensMatch(request.cookies[LOGIN_COOKIE] ?? null, field(request.body, '_csrf')) || !fromOwnOrigin(deps, request)) {
      deps.logger.warn({ origin: request.headers.origin ?? null }, 'review UI: sign-in form refused (token or origin)');
      return reply
        .code(403)
        .type('text/html; charset=utf-8')
        .send(errorPage(request, 403, 'Sign-in refused', 'The sign-in form had expired or did not come from this site. Open the sign-in page again.').value);
    }
    const username = text(field(request.body, 'username'), MAX_USERNAME).trim();
    const password = text(field(request.body, 'password'), MAX_PASSWORD);
    let result: Awaited<ReturnType<typeof checkPassword>>;
    try {
      result = await checkPassword(deps.store, username, password, deps.now());
    } catch (error) {
      if (!(error instanceof SemaphoreFullError)) throw error;
      await deps.store.appendAudit({ actorId: null, actor: 'anonymous', role: null, action: 'auth.login_failed', target: null, details: { method: 'password', reason: 'busy' }, ip: request.ip });
      reply.header('retry-after', '5');
      return sendLoginPage(deps, request, reply, { status: 503, error: BUSY, username, next });
    }
    if (!result.ok) {
      await deps.store.appendAudit({
        actorId: null,
        actor: 'anonymous',
        role: null,
        action: 'auth.login_failed',
        target: result.user ? `user:${result.user.id}` : null,
        // A name that matches no account may be a password typed in the wrong box: it is not kept.
        details: { method: 'password', ...(result.user ? { username: result.user.username } : {}), reason: result.reason, ...(result.lockedUntil ? { lockedUntil: result.lockedUntil.toISOString() } : {}) },
        ip: request.ip,
      });
      return sendLoginPage(deps, request, reply, { status: 401, error: FAILED, username, next });
    }
    const { user } = result;
    await startSession(deps, request, reply, user.id);
    reply.clearCookie(LOGIN_COOKIE, cookieOptions(deps.config.review, { path: LOGIN_PATH, sameSite: 'strict' }));
    await deps.store.appendAudit({ actorId: user.id, actor: user.username, role: user.role, action: 'auth.login', target: `user:${user.id}`, details: { method: 'password' }, ip: request.ip });
    return reply.redirect(next, 303);
  });

  app.post('/logout', async (request, reply) => {
    const reviewer = request.reviewer;
    if (reviewer) {
      await deps.store.appendAudit({ actorId: reviewer.id, actor: reviewer.username, role: reviewer.role, action: 'auth.logout', target: `user:${reviewer.id}`, details: {}, ip: request.ip });
    }
    await endSession(deps, request, reply);
    return reply.redirect(`${LOGIN_PATH}?done=signed_out`, 303);
  });

  if (deps.config.review.oidc) registerOidc(app, deps, deps.config.review.oidc);
}
