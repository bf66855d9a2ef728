/**
 * The review UI: the audit log for DPOs and auditors, newest first, filtered by actor, action,
 * target and date, 50 rows a page. Reading the log is itself written to it (`audit.view`, with
 * the filters), so who looked at whose activity is on record too.
 */
import type { FastifyInstance } from 'fastify';
import type { AuditEntry, AuditQuery } from '../../flags/review-types.js';
import { audit, requirePermission, type ReviewDeps } from '../context.js';
import { formatDate, parseDay, startOfDay } from '../views/format.js';
import { html, type Html } from '../views/html.js';
import { page } from '../views/layout.js';

const AUDIT_PAGE_SIZE = 50;
const MAX_TEXT = 200;

/** The filters as the reviewer wrote them: the form is redrawn from these. */
interface AuditFilters {
  actor: string;
  action: string;
  target: string;
  from: string;
  to: string;
}

const FILTER_NAMES = ['actor', 'action', 'target', 'from', 'to'] as const satisfies ReadonlyArray<keyof AuditFilters>;

/** One trimmed value of a query field (the first, when repeated). */
function field(query: unknown, name: string): string {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? '' : String(first).trim();
}

function nextDay(day: { year: number; month: number; day: number }): { year: number; month: number; day: number } {
  const date = new Date(Date.UTC(day.year, day.month - 1, day.day + 1));
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** The store's query, or what is wrong with the filters, naming the field. `to` includes its day. */
function queryFor(filters: AuditFilters, timeZone: string): { query: AuditQuery } | { error: string } {
  for (const name of FILTER_NAMES) if (filters[name].length > MAX_TEXT) return { error: `${name}: at most ${MAX_TEXT} characters` };
  const query: AuditQuery = {};
  // Usernames are lower case; `kestrel` names the system's own jobs (the purge).
  if (filters.actor) query.actor = filters.actor.toLowerCase();
  if (filters.action) query.action = filters.action;
  if (filters.target) query.target = filters.target;
  if (filters.from) {
    const day = parseDay(filters.from);
    if (!day) return { error: 'from: expected a date like 2026-11-21' };
    query.since = startOfDay(day, timeZone);
  }
  if (filters.to) {
    const day = parseDay(filters.to);
    if (!day) return { error: 'to: expected a date like 2026-11-21' };
    query.until = startOfDay(nextDay(day), timeZone);
  }
  if (query.since && query.until && query.since >= query.until) return { error: 'to: must not be before from' };
  return { query };
}

/** Details as `key=value` text, keys in order: strings as they are, anything else as JSON. Escaped like all text. */
function detailsText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
}

function pageLink(filters: AuditFilters, pageNumber: number): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (filters[name]) params.set(name, filters[name]);
  if (pageNumber > 1) params.set('page', String(pageNumber));
  const search = params.toString();
  return search ? `/audit?${search}` : '/audit';
}

function filterForm(filters: AuditFilters): Html {
  const input = (name: keyof AuditFilters, label: string, type = 'text') => html`<label>${label}<input type="${type}" name="${name}" value="${filters[name]}"></label>`;
  return html`<form class="filters" method="get" action="/audit">
${input('actor', 'Actor (username)')}${input('action', 'Action')}${input('target', 'Target')}${input('from', 'From', 'date')}${input('to', 'To', 'date')}
<button type="submit">Filter</button> <a class="button secondary" href="/audit">Clear</a>
</form>`;
}

function entriesTable(items: readonly AuditEntry[], timeZone: string): Html {
  if (items.length === 0) return html`<p class="muted">No audit entries match.</p>`;
  return html`<table class="audit-log">
<thead><tr><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th><th scope="col">IP</th></tr></thead>
<tbody>${items.map(
    (e) => html`<tr><td class="when">${formatDate(e.at, timeZone)}</td><td>${e.actor}${e.role ? html` <span class="muted">${e.role}</span>` : ''}</td><td><code>${e.action}</code></td><td>${e.target ?? ''}</td><td class="details">${detailsText(e.details)}</td><td>${e.ip ?? ''}</td></tr>`,
  )}</tbody>
</table>`;
}

export function registerAudit(app: FastifyInstance, deps: ReviewDeps): void {
  app.get('/audit', { preHandler: requirePermission('audit.read') }, async (request, reply) => {
    const timeZone = deps.config.delivery.timeZone;
    const filters: AuditFilters = { actor: field(request.query, 'actor'), action: field(request.query, 'action'), target: field(request.query, 'target'), from: field(request.query, 'from'), to: field(request.query, 'to') };
    const pageText = field(request.query, 'page');
    const pageNumber = pageText === '' ? 1 : /^[1-9]\d{0,5}$/.test(pageText) ? Number(pageText) : NaN;
    const parsed = Number.isNaN(pageNumber) ? { error: 'page: expected a page number from 1' } : queryFor(filters, timeZone);
    if ('error' in parsed) {
      const body = html`${filterForm(filters)}<p class="error" role="alert">${parsed.error}</p>`;
      return reply.code(400).type('text/html; charset=utf-8').send(page(request, { title: 'Audit log', section: '/audit', body }).value);
    }

    const result = await deps.store.auditEntries(parsed.query, { offset: (pageNumber - 1) * AUDIT_PAGE_SIZE, limit: AUDIT_PAGE_SIZE });
    const shown = Object.fromEntries(FILTER_NAMES.filter((name) => filters[name]).map((name) => [name, filters[name]]));
    await audit(deps, request, 'audit.view', null, { filters: shown, page: pageNumber });

    const pages = Math.max(1, Math.ceil(result.total / AUDIT_PAGE_SIZE));
    const body = html`${filterForm(filters)}
<p class="muted">${result.total} ${result.total === 1 ? 'entry' : 'entries'}, newest first.</p>
${entriesTable(result.items, timeZone)}
<nav class="pager" aria-label="Pages">
${pageNumber > 1 ? html`<a href="${pageLink(filters, pageNumber - 1)}" rel="prev">Newer</a>` : ''}
<span>Page ${pageNumber} of ${pages}</span>
${pageNumber < pages ? html`<a href="${pageLink(filters, pageNumber + 1)}" rel="next">Older</a>` : ''}
</nav>`;
    return reply.type('text/html; charset=utf-8').send(page(request, { title: 'Audit log', section: '/audit', body }).value);
  });
}
