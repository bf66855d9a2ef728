/**
 * The review UI: the ops view for ict_admin: queues, failed jobs, connectors, deliveries not
 * delivered and messages that could not be scanned. Counts, ids, states and error reasons only:
 * no subject, no party of a message and no evidence is read for these pages, so none can show.
 * A delivery's recipient is shown: it is a trust staff address, not a party of the message.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Delivery, UnsentStatus } from '../../flags/deliveries.js';
import type { ScanFailure } from '../../flags/store.js';
import { audit, requirePermission, type ReviewDeps } from '../context.js';
import type { ConnectorState, FailedJob, QueueCounts } from '../health.js';
import { formatDate } from '../views/format.js';
import { html, type Html } from '../views/html.js';
import { csrfField, errorPage, page } from '../views/layout.js';

/** Failed jobs listed per queue, and deliveries per status: enough to act on, not an export. */
const LIST_LIMIT = 50;
/** A checkpoint that has not moved for this long is worth a look (a quiet mailbox is also still). */
const STALE_MS = 60 * 60 * 1000;
/** How long a page waits for Redis: a queue store that is away must not hang the page. */
const HEALTH_TIMEOUT_MS = 3_000;
const UNSENT_STATUSES: readonly UnsentStatus[] = ['failed', 'uncertain', 'pending', 'sending'];
const REASON_CHARS = 200;

/**
 * An error reason as the page shows it: raw error messages can carry a Message-ID or an address
 * (a party of the message), so both become placeholders, and a long one (a stack, a server's
 * whole answer) is cut.
 */
export function displayReason(reason: string): string {
  const masked = reason.replace(/<[^<>\s]*@[^<>\s]*>/g, '<message-id>').replace(/[^\s<>()[\]"',;:]+@[^\s<>()[\]"',;:]+/g, '<address>');
  return masked.length > REASON_CHARS ? `${masked.slice(0, REASON_CHARS - 1)}…` : masked;
}

const NOTICES: Record<string, string> = {
  'job-retried': 'The job is queued again.',
  'job-not-retried': 'Nothing to retry: the job is gone or no longer failed.',
  'delivery-retried': 'The delivery will be attempted again.',
  'delivery-not-retried': 'Nothing to retry: the delivery is gone or no longer failed.',
};

function noticeFor(query: unknown): string | undefined {
  const done = (query as Record<string, unknown> | undefined)?.done;
  return typeof done === 'string' ? NOTICES[done] : undefined;
}

type Reading<T> = { value: T } | { error: string };

/** A read of the pipeline that fails or takes too long becomes a message on the page, not an error page. */
async function reading<T>(work: () => Promise<T>, timeoutMs = HEALTH_TIMEOUT_MS): Promise<Reading<T>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Reading<T>>((resolve) => {
    timer = setTimeout(() => resolve({ error: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
  });
  try {
    return await Promise.race([work().then((value) => ({ value }), (error: unknown) => ({ error: (error as Error).message || String(error) })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function unavailable(what: string, error: string): Html {
  return html`<p class="warning">Cannot read ${what}: ${error}</p>`;
}

function when(date: Date | null, deps: ReviewDeps): string {
  return date ? formatDate(date, deps.config.delivery.timeZone) : '—';
}

function queueTable(queues: readonly QueueCounts[]): Html {
  if (queues.length === 0) return html`<p class="muted">No queues: this Kestrel scans in-process (embedded mode).</p>`;
  return html`<table class="ops-queues">
<thead><tr><th scope="col">Queue</th><th scope="col" class="num">Waiting</th><th scope="col" class="num">Active</th><th scope="col" class="num">Delayed</th><th scope="col" class="num">Failed</th><th scope="col" class="num">Completed</th></tr></thead>
<tbody>${queues.map((q) => html`<tr><th scope="row">${q.queue}</th><td class="num">${q.waiting}</td><td class="num">${q.active}</td><td class="num">${q.delayed}</td><td class="num${q.failed > 0 ? ' attention' : ''}">${q.failed}</td><td class="num">${q.completed}</td></tr>`)}</tbody>
</table>`;
}

/** Folders whose checkpoint has not moved for over an hour are marked: a hint to look, not an error. */
function connectorTable(connectors: readonly ConnectorState[], deps: ReviewDeps): Html {
  if (connectors.length === 0) return html`<p class="muted">No accounts are configured.</p>`;
  const now = deps.now().getTime();
  return html`<table class="ops-connectors">
<thead><tr><th scope="col">Account</th><th scope="col">Held by</th><th scope="col">Folder</th><th scope="col" class="num">Last UID</th><th scope="col">Last progress</th></tr></thead>
<tbody>${connectors.map((c) => {
    const folders = c.folders.length > 0 ? c.folders : [null];
    return folders.map(
      (f, index) => html`<tr>${index === 0 ? html`<th scope="row" rowspan="${folders.length}">${c.account}</th><td rowspan="${folders.length}">${c.holder ?? html`<span class="muted">nobody</span>`}</td>` : ''}${f
        ? html`<td>${f.folder}</td><td class="num">${f.lastUid}</td><td>${when(f.updatedAt, deps)}${now - f.updatedAt.getTime() > STALE_MS ? html` <span class="badge stale" title="The checkpoint has not moved for over an hour: a quiet mailbox, or a connector that is stuck">stale</span>` : ''}</td>`
        : html`<td colspan="3" class="muted">No folder read yet</td>`}</tr>`,
    );
  })}</tbody>
</table>`;
}

function failedJobsTable(jobs: readonly FailedJob[], deps: ReviewDeps, request: FastifyRequest): Html {
  if (jobs.length === 0) return html`<p class="muted">No failed jobs.</p>`;
  return html`<table class="ops-failed">
<thead><tr><th scope="col">Queue</th><th scope="col">Job</th><th scope="col">Reason</th><th scope="col" class="num">Attempts</th><th scope="col">Failed at</th><th scope="col"></th></tr></thead>
<tbody>${jobs.map(
    (job) => html`<tr><td>${job.queue}</td><td class="id">${job.id}</td><td>${displayReason(job.reason)}</td><td class="num">${job.attempts}</td><td>${when(job.failedAt, deps)}</td><td><form class="inline" method="post" action="/ops/queues/${encodeURIComponent(job.queue)}/jobs/${encodeURIComponent(job.id)}/retry">${csrfField(request)}<button type="submit">Retry</button></form></td></tr>`,
  )}</tbody>
</table>`;
}

function deliveriesTable(deliveries: readonly Delivery[], deps: ReviewDeps, request: FastifyRequest): Html {
  if (deliveries.length === 0) return html`<p class="muted">Every copy is delivered.</p>`;
  return html`<table class="ops-deliveries">
<thead><tr><th scope="col">Delivery</th><th scope="col">For</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Last error</th><th scope="col">Recipient</th><th scope="col">Created</th><th scope="col"></th></tr></thead>
<tbody>${deliveries.map(
    (d) => html`<tr><td class="id">${d.id}</td><td>${d.flagId !== null ? `flag ${d.flagId}` : `digest ${d.digestId ?? '?'}`}</td><td><span class="badge delivery-${d.status}">${d.status}</span></td><td class="num">${d.attempts}</td><td>${d.lastError === null ? '' : displayReason(d.lastError)}</td><td>${d.recipient}</td><td>${when(d.createdAt, deps)}</td><td>${d.status === 'failed' ? html`<form class="inline" method="post" action="/ops/deliveries/${d.id}/retry">${csrfField(request)}<button type="submit">Retry</button></form>` : ''}</td></tr>`,
  )}</tbody>
</table>`;
}

function scanFailuresTable(failures: readonly ScanFailure[], deps: ReviewDeps): Html {
  if (failures.length === 0) return html`<p class="muted">Every message was scanned.</p>`;
  return html`<table class="ops-scan-failures">
<thead><tr><th scope="col">Account</th><th scope="col">Folder</th><th scope="col" class="num">UID</th><th scope="col">Reason</th><th scope="col">When</th></tr></thead>
<tbody>${failures.map((f) => html`<tr><td>${f.account}</td><td>${f.folder}</td><td class="num">${f.uid}</td><td>${displayReason(f.reason)}</td><td>${when(f.failedAt, deps)}</td></tr>`)}</tbody>
</table>`;
}

function unsentTable(counts: Record<UnsentStatus, number>): Html {
  return html`<table class="ops-unsent">
<thead><tr>${UNSENT_STATUSES.map((status) => html`<th scope="col" class="num">${status}</th>`)}</tr></thead>
<tbody><tr>${UNSENT_STATUSES.map((status) => html`<td class="num${status === 'failed' && counts[status] > 0 ? ' attention' : ''}">${counts[status]}</td>`)}</tr></tbody>
</table>`;
}

/** The dashboard's health panel: the same readings as this page, as counts, without the lists. */
export async function pipelinePanel(deps: ReviewDeps): Promise<Html> {
  const [queues, connectors, unsent, scanFailures] = await Promise.all([
    reading(() => deps.health.queues()),
    reading(() => deps.health.connectors()),
    deps.store.unsentCounts(),
    deps.store.scanFailureCount(),
  ]);
  return html`<section class="card pipeline" aria-labelledby="pipeline-heading">
<h2 id="pipeline-heading">Pipeline health</h2>
<h3>Queues</h3>${'value' in queues ? queueTable(queues.value) : unavailable('the queues', queues.error)}
<h3>Copies not delivered</h3>${unsentTable(unsent)}
<p class="scan-failures">Messages that could not be scanned: <strong>${scanFailures}</strong></p>
<h3>Connectors</h3>${'value' in connectors ? connectorTable(connectors.value, deps) : unavailable('the connectors', connectors.error)}
</section>`;
}

async function failedJobsOf(deps: ReviewDeps, queues: readonly QueueCounts[]): Promise<FailedJob[]> {
  const lists = await Promise.all(queues.filter((q) => q.failed > 0).map((q) => deps.health.failedJobs(q.queue, LIST_LIMIT)));
  return lists.flat();
}

async function unsentDeliveries(deps: ReviewDeps): Promise<Delivery[]> {
  const lists = await Promise.all(UNSENT_STATUSES.map((status) => deps.store.deliveries({ status, limit: LIST_LIMIT })));
  return lists.flat();
}

export function registerOps(app: FastifyInstance, deps: ReviewDeps): void {
  app.get('/ops', { preHandler: requirePermission('ops.read') }, async (request, reply) => {
    const [queues, connectors, deliveries, unsent, failures] = await Promise.all([
      reading(() => deps.health.queues()),
      reading(() => deps.health.connectors()),
      unsentDeliveries(deps),
      deps.store.unsentCounts(),
      deps.store.scanFailures(LIST_LIMIT),
    ]);
    const failed = 'value' in queues ? await reading(() => failedJobsOf(deps, queues.value)) : queues;
    const body = html`
<section class="ops-section"><h2>Queues</h2>${'value' in queues ? queueTable(queues.value) : unavailable('the queues', queues.error)}</section>
<section class="ops-section"><h2>Failed jobs</h2>${'value' in failed ? failedJobsTable(failed.value, deps, request) : unavailable('failed jobs', failed.error)}</section>
<section class="ops-section"><h2>Connectors</h2>${'value' in connectors ? connectorTable(connectors.value, deps) : unavailable('the connectors', connectors.error)}</section>
<section class="ops-section"><h2>Copies not delivered</h2>${unsentTable(unsent)}${deliveriesTable(deliveries, deps, request)}</section>
<section class="ops-section"><h2>Messages that could not be scanned</h2>${scanFailuresTable(failures, deps)}</section>`;
    const notice = noticeFor(request.query);
    return reply.type('text/html; charset=utf-8').send(page(request, { title: 'Operations', section: '/ops', body, ...(notice ? { notice } : {}) }).value);
  });

  app.post<{ Params: { queue: string; id: string } }>('/ops/queues/:queue/jobs/:id/retry', { preHandler: requirePermission('ops.retry') }, async (request, reply) => {
    const { queue, id } = request.params;
    const retried = await deps.health.retryJob(queue, id);
    await audit(deps, request, 'ops.job.retry', `job:${queue}:${id}`, { queue, id, retried });
    return reply.redirect(`/ops?done=${retried ? 'job-retried' : 'job-not-retried'}`, 303);
  });

  app.post<{ Params: { id: string } }>('/ops/deliveries/:id/retry', { preHandler: requirePermission('ops.retry') }, async (request, reply) => {
    if (!/^[1-9]\d{0,15}$/.test(request.params.id)) {
      return reply.code(404).type('text/html; charset=utf-8').send(errorPage(request, 404, 'Not found', 'There is no such delivery.').value);
    }
    const id = Number(request.params.id);
    const retried = await deps.store.retryDelivery(id);
    await audit(deps, request, 'ops.delivery.retry', `delivery:${id}`, { id, retried });
    return reply.redirect(`/ops?done=${retried ? 'delivery-retried' : 'delivery-not-retried'}`, 303);
  });
}
