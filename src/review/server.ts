/**
 * The review UI's web server: fastify with a strict Content-Security-Policy (no scripts, no inline
 * styles), form bodies only, the session hook that signs each request in, a CSRF check on every
 * POST, a per-address rate limit on sign-in, `Cache-Control: no-store` on every page (they show
 * safeguarding content), and error pages that say nothing about the server's insides.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import { HOP_COUNT_NEEDS_LOOPBACK, listensOnLoopback, type ReviewConfig } from '../config/review-schema.js';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { can } from './access.js';
import { cookieIsSecure, loadSession, tokensMatch } from './auth/session.js';
import type { ReviewDeps } from './context.js';
import { LOGIN_PATH } from './pages/login.js';
import { registerPages } from './pages/index.js';
import { errorPage, STYLESHEET_PATH } from './views/layout.js';
import type { Html } from './views/html.js';
import { STYLESHEET } from './views/styles.js';

export interface ReviewAppOptions {
  /** Sign-in attempts (POST /login) allowed per client address per minute; 10 by default. */
  loginAttemptsPerMinute?: number;
}

export interface ReviewServer {
  /** The bound address as host:port (the real port when 0 was asked for). */
  address: string;
  /** The base URL reviewers would open, e.g. http://127.0.0.1:8025. */
  url: string;
  close(): Promise<void>;
}

const CSP = {
  'default-src': ["'none'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
};

function sendPage(reply: FastifyReply, status: number, markup: Html): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(markup.value);
}

/** Where `/` sends each role: the first thing their role may open. */
function homeOf(request: FastifyRequest): string {
  const reviewer = request.reviewer;
  if (!reviewer) return LOGIN_PATH;
  if (can(reviewer, 'flags.read')) return '/flags';
  if (can(reviewer, 'ops.read')) return '/ops';
  if (can(reviewer, 'audit.read')) return '/audit';
  return '/users';
}

function formField(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

/**
 * Which X-Forwarded-For entries name a proxy rather than the client. Fastify takes a number to
 * mean "trust none", so a hop count becomes proxy-addr's function: hop 0 is the peer that
 * connected, hop 1 the last address it appended, and so on. A hop count is only allowed on a
 * loopback listen, where the peer can only be the proxy on this machine.
 */
function proxyTrust(trustProxy: ReviewConfig['trustProxy']): false | string[] | ((address: string, hop: number) => boolean) {
  return typeof trustProxy === 'number' ? (_address, hop) => hop < trustProxy : trustProxy;
}

function createApp(deps: ReviewDeps): FastifyInstance {
  const { tls, trustProxy } = deps.config.review;
  const common = { trustProxy: proxyTrust(trustProxy), logger: false, bodyLimit: 256 * 1024 } as const;
  if (!tls) return Fastify(common);
  // An https server is a different raw type to fastify's typings, not to any route or hook here.
  return Fastify({ ...common, https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } }) as unknown as FastifyInstance;
}

/** The whole review app, ready (every page registered); `inject` it in tests or `listen` it. */
export async function buildReviewApp(deps: ReviewDeps, options: ReviewAppOptions = {}): Promise<FastifyInstance> {
  const app = createApp(deps);
  const secure = cookieIsSecure(deps.config.review);

  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: CSP },
    strictTransportSecurity: secure ? { maxAge: 180 * 24 * 3600, includeSubDomains: false } : false,
    referrerPolicy: { policy: 'no-referrer' },
  });
  // Only form posts: a JSON or text body has no business here.
  app.removeAllContentTypeParsers();
  await app.register(formbody);
  await app.register(cookie);
  // Every route sees the limiter, but only sign-in attempts count against it.
  await app.register(rateLimit, {
    global: true,
    max: options.loginAttemptsPerMinute ?? 10,
    timeWindow: 60_000,
    allowList: (request) => !(request.method === 'POST' && request.routeOptions.url === LOGIN_PATH),
  });

  app.decorateRequest('reviewer', null);
  app.decorateRequest('csrfToken', null);
  app.addHook('onRequest', async (request, reply) => {
    const session = await loadSession(deps, request, reply);
    request.reviewer = session?.reviewer ?? null;
    request.csrfToken = session?.csrfToken ?? null;
  });
  // The sign-in form has no session yet: login.ts checks its own pre-session token and origin.
  app.addHook('preHandler', async (request, reply) => {
    if (request.method !== 'POST' || request.routeOptions.url === LOGIN_PATH) return;
    if (tokensMatch(request.csrfToken, formField(request.body, '_csrf'))) return;
    deps.logger.warn({ route: request.routeOptions.url, signedIn: request.reviewer !== null }, 'review UI: form refused (CSRF token missing or wrong)');
    await sendPage(reply, 403, errorPage(request, 403, 'Form refused', 'This form has expired or did not come from this page. Go back, reload the page and try again (after signing in if your session has ended).'));
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setNotFoundHandler(async (request, reply) => sendPage(reply, 404, errorPage(request, 404, 'Not found', 'There is nothing at this address, or you do not have access to it.')));
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 429) return sendPage(reply, 429, errorPage(request, 429, 'Too many attempts', 'Too many sign-in attempts from this address. Wait a minute and try again.'));
    if (status >= 400 && status < 500) return sendPage(reply, status, errorPage(request, status, 'Bad request', 'The request could not be read.'));
    deps.logger.error({ err: error, route: request.routeOptions.url, method: request.method }, 'review UI: request failed');
    return sendPage(reply, 500, errorPage(request, 500, 'Something went wrong', 'The server could not finish this request; it has been logged. Try again, or tell your ICT team if it keeps happening.'));
  });

  app.get('/', async (request, reply) => reply.redirect(homeOf(request), 303));
  app.get(STYLESHEET_PATH, async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=600').send(STYLESHEET));
  registerPages(app, deps);
  await app.ready();
  return app;
}

function splitListen(listen: string): { host: string; port: number } {
  const separator = listen.lastIndexOf(':');
  return { host: listen.slice(0, separator).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(separator + 1)) };
}

/** Builds the app and listens on `listen` (host:port; port 0 picks a free one). */
export async function startReviewServer(deps: ReviewDeps, listen: string, options: ReviewAppOptions = {}): Promise<ReviewServer> {
  // The config refuses this for review.listen; `listen` may be another address.
  if (typeof deps.config.review.trustProxy === 'number' && !listensOnLoopback(listen)) throw new Error(`review.trustProxy: ${HOP_COUNT_NEEDS_LOOPBACK} (listening on ${listen})`);
  const app = await buildReviewApp(deps, options);
  const { host, port } = splitListen(listen);
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    throw new Error(`review.listen ${listen}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  const bound = app.server.address() as AddressInfo;
  const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  const url = `${deps.config.review.tls ? 'https' : 'http'}://${address}`;
  deps.logger.info({ address, publicUrl: deps.config.review.publicUrl ?? url }, 'review UI listening');
  return { address, url, close: () => app.close() };
}
