/**
 * The review UI: one case (flag, evidence, history) as JSON or PDF, for HR or the LADO. Both are
 * downloads, both are audited before the case is built (so the export's own audit row is in it),
 * and a flag outside the reviewer's scope answers 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { flagScope } from '../access.js';
import { audit, requirePermission, reviewerOf, type ReviewDeps } from '../context.js';
import { buildCase, type FlagCase } from '../export/case.js';
import { casePdf } from '../export/pdf.js';
import { flagNotFound } from './flags.js';

type Format = 'json' | 'pdf';

const CONTENT_TYPES: Record<Format, string> = { json: 'application/json; charset=utf-8', pdf: 'application/pdf' };

function render(flagCase: FlagCase, format: Format, timeZone: string): Promise<Buffer> | string {
  return format === 'json' ? JSON.stringify(flagCase, null, 2) : casePdf(flagCase, timeZone);
}

async function exportCase(deps: ReviewDeps, request: FastifyRequest, reply: FastifyReply, format: Format): Promise<void> {
  const reviewer = reviewerOf(request);
  const id = (request.params as { id: string }).id;
  const flag = /^\d{1,15}$/.test(id) ? await deps.store.reviewFlag(Number(id), flagScope(reviewer)) : null;
  if (!flag) return flagNotFound(request, reply);
  const exportedAt = deps.now();
  await audit(deps, request, `flag.export.${format}`, `flag:${flag.id}`);
  const flagCase = await buildCase(deps.store, flag, reviewer, deps.config.trust.name, deps.config.routes, exportedAt);
  const body = await render(flagCase, format, deps.config.delivery.timeZone);
  await reply
    .type(CONTENT_TYPES[format])
    .header('content-disposition', `attachment; filename="kestrel-flag-${flag.id}.${format}"`)
    .header('cache-control', 'no-store')
    .send(body);
}

export function registerExports(app: FastifyInstance, deps: ReviewDeps): void {
  app.get('/flags/:id/export.json', { preHandler: requirePermission('flags.export') }, (request, reply) => exportCase(deps, request, reply, 'json'));
  app.get('/flags/:id/export.pdf', { preHandler: requirePermission('flags.export') }, (request, reply) => exportCase(deps, request, reply, 'pdf'));
}
