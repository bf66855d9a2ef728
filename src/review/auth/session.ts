/**
 * Sessions: a random 32-byte token in the `kestrel_session` cookie (HttpOnly, SameSite=Lax), of
 * which the store keeps only the SHA-256. A session ends after `sessionIdleMinutes` without a
 * request and `sessionMaxHours` after sign-in, whichever comes first: `expires_at` always holds
 * the nearer of the two. Each session has its own CSRF token for the forms it posts.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { ReviewConfig } from '../../config/review-schema.js';
import type { Reviewer } from '../../flags/review-types.js';
import type { ReviewDeps } from '../context.js';

export const SESSION_COOKIE = 'kestrel_session';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** last_seen_at is written at most this often, so reading pages is not a write per request (a session may end up to this much before its idle time). */
const TOUCH_EVERY_MS = 60_000;

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time comparison of two tokens; false for anything that is not a string. */
export function tokensMatch(expected: string | null, given: unknown): boolean {
  if (expected === null || typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Secure whenever the UI is reached over HTTPS (its own tls, or a https publicUrl behind a
 * proxy). Plain http is allowed only on loopback (review-schema.ts), where the cookie never
 * crosses the network; a Secure cookie there would depend on the browser treating loopback as a
 * secure context (Chromium does, curl and older browsers do not), so it is left off.
 */
export function cookieIsSecure(review: ReviewConfig): boolean {
  return review.tls !== undefined || (review.publicUrl?.startsWith('https:') ?? false);
}

export function cookieOptions(review: ReviewConfig, extra: Partial<CookieSerializeOptions> = {}): CookieSerializeOptions {
  return { httpOnly: true, sameSite: 'lax', path: '/', secure: cookieIsSecure(review), ...extra };
}

function expiry(review: ReviewConfig, createdAt: Date, lastSeenAt: Date): Date {
  const idle = lastSeenAt.getTime() + review.sessionIdleMinutes * 60_000;
  const absolute = createdAt.getTime() + review.sessionMaxHours * 3_600_000;
  return new Date(Math.min(idle, absolute));
}

export interface ActiveSession {
  reviewer: Reviewer;
  csrfToken: string;
}

/** A new session for `userId`: the cookie is set on `reply`. Any session the request carried ends (no fixation). */
export async function startSession(deps: ReviewDeps, request: FastifyRequest, reply: FastifyReply, userId: number): Promise<void> {
  await endSession(deps, request, reply);
  const token = randomToken();
  const createdAt = deps.now();
  await deps.store.createSession({ idHash: tokenHash(token), userId, csrfToken: randomToken(), createdAt, expiresAt: expiry(deps.config.review, createdAt, createdAt) });
  reply.setCookie(SESSION_COOKIE, token, cookieOptions(deps.config.review));
}

/** The request's live session, its idle expiry moved on; null (and the cookie cleared) when there is none. */
export async function loadSession(deps: ReviewDeps, request: FastifyRequest, reply: FastifyReply): Promise<ActiveSession | null> {
  const token = request.cookies[SESSION_COOKIE];
  if (token === undefined) return null;
  const now = deps.now();
  const session = TOKEN.test(token) ? await deps.store.session(tokenHash(token), now) : null;
  if (!session) {
    reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.config.review));
    return null;
  }
  if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
    await deps.store.touchSession(tokenHash(token), now, expiry(deps.config.review, session.createdAt, now));
  }
  return { reviewer: session.reviewer, csrfToken: session.csrfToken };
}

/** Sign-out: the session's row goes, so the cookie opens nothing even if it was copied. */
export async function endSession(deps: ReviewDeps, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const token = request.cookies[SESSION_COOKIE];
  if (token === undefined) return;
  if (TOKEN.test(token)) await deps.store.deleteSession(tokenHash(token));
  reply.clearCookie(SESSION_COOKIE, cookieOptions(deps.config.review));
}
