/**
 * What every page of the review UI is given, and what the sign-in layer adds to each request.
 * Pages register their routes with `register*(app, deps)` and guard them with `requirePermission`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KestrelConfig } from '../config/schema.js';
import type { CopyKeys } from '../copy/keys.js';
import type { AuditInput, Reviewer } from '../flags/review-types.js';
import type { SqlFlagStore } from '../flags/store.js';
import type { Logger } from '../log.js';
import { can, type Permission } from './access.js';
import type { PipelineHealth } from './health.js';
import { errorPage } from './views/layout.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in reviewer; null before sign-in. Set by the session hook (auth/session.ts). */
    reviewer: Reviewer | null;
    /** The session's CSRF token, for forms; null without a session. */
    csrfToken: string | null;
  }
}

export interface ReviewDeps {
  config: KestrelConfig;
  store: SqlFlagStore;
  logger: Logger;
  /** Opens messages kept under a targeted-monitoring authorisation (sealed with `keys.original`). */
  keys: CopyKeys;
  /** Queues and connectors, for the dashboard's health panel and the ops view. */
  health: PipelineHealth;
  /** The clock (tests move it). */
  now(): Date;
}

/** A preHandler: sign-in first (back here afterwards), then 403 unless the role has the permission. */
export function requirePermission(permission: Permission) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!request.reviewer) {
      const next = request.method === 'GET' ? `?next=${encodeURIComponent(request.url)}` : '';
      await reply.redirect(`/login${next}`, 303);
      return;
    }
    if (!can(request.reviewer, permission)) {
      await reply.code(403).type('text/html; charset=utf-8').send(errorPage(request, 403, 'Not allowed', 'Your role does not give access to this page.').value);
    }
  };
}

/** The signed-in reviewer of a guarded route. */
export function reviewerOf(request: FastifyRequest): Reviewer {
  if (!request.reviewer) throw new Error('reviewerOf called on a route without requirePermission');
  return request.reviewer;
}

/** Writes one audit row for what the signed-in reviewer just did. */
export async function audit(deps: ReviewDeps, request: FastifyRequest, action: string, target: string | null, details: Record<string, unknown> = {}): Promise<void> {
  const reviewer = request.reviewer;
  const entry: AuditInput = {
    actorId: reviewer?.id ?? null,
    actor: reviewer?.username ?? 'anonymous',
    role: reviewer?.role ?? null,
    action,
    target,
    details,
    ip: request.ip,
  };
  await deps.store.appendAudit(entry);
}
