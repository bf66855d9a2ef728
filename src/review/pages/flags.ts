/**
 * The review UI: the flag list (filters, paging, groups), the flag page and outcomes. Every list
 * and page is queried with the reviewer's scope, so a flag outside it answers 404 exactly like one
 * that does not exist; every view and outcome is written to the audit log.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Delivery } from '../../flags/deliveries.js';
import { FlagNotFoundError, OutcomeError, type ReviewFlag } from '../../flags/reviews.js';
import {
  type AuditActor,
  ESCALATION_TARGETS,
  FLAG_STATUSES,
  type EscalationTarget,
  type FlagFilter,
  type FlagListItem,
  type FlagStatus,
  type OutcomeInput,
  type ReviewEntry,
  type Reviewer,
} from '../../flags/review-types.js';
import { SEVERITIES, type Finding, type Severity } from '../../scan/types.js';
import { can, flagScope } from '../access.js';
import { audit, requirePermission, reviewerOf, type ReviewDeps } from '../context.js';
import { evidenceWhere, highlightedExcerpt } from '../views/evidence.js';
import { ESCALATION_LABELS, formatBytes, formatDate, parseDay, partyLine, severityBadge, startOfDay, STATUS_LABELS, statusBadge } from '../views/format.js';
import { html, type Html } from '../views/html.js';
import { csrfField, errorPage, page } from '../views/layout.js';
import { visibleRouting } from '../visible-routing.js';

const PAGE_SIZE = 50;

/** The categories a reviewer usually filters on (ENGINEERING.md section 2); any other given in the URL is offered too. */
const CATEGORY_CHOICES = [
  'safety.*',
  'safety.sexual',
  'safety.hate',
  'safety.bullying',
  'safety.violence',
  'safety.self_harm',
  'safety.extremism',
  'safety.grooming',
  'profanity',
  'personal_data.*',
  'chain_mail',
  'pupil_email.*',
  'acceptable_use.*',
];

/** Fixed texts for `?done=` after a redirect: the query names a notice, it is never shown itself. */
const NOTICES: Record<string, string> = {
  outcome: 'Outcome recorded.',
  group: 'Outcome recorded for every open flag of the group.',
  'group-closed': 'Every flag of this group already has a final outcome: nothing changed.',
};

function noticeFor(query: unknown): string | undefined {
  const done = (query as Record<string, unknown> | undefined)?.done;
  return typeof done === 'string' ? NOTICES[done] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Form and query values

/** Every value of a query or form field, trimmed, blanks dropped (repeated fields arrive as arrays). */
function values(fields: unknown, name: string): string[] {
  const value = (fields as Record<string, unknown> | undefined)?.[name];
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.map((v) => String(v).trim()).filter((v) => v !== '');
}

function first(fields: unknown, name: string): string {
  return values(fields, name)[0] ?? '';
}

/** The list's query as the reviewer wrote it: the form is redrawn from these, so every filter keeps its value. */
interface ListQuery {
  category: string[];
  severity: string;
  academy: string;
  status: string[];
  since: string;
  until: string;
  sender: string;
  recipient: string;
  rule: string;
  group: string;
  /** '1': one row per group (the default); '0': every flag. */
  grouped: string;
  page: number;
}

const CATEGORY_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?$/;
const MAX_TEXT = 200;

function readListQuery(query: unknown): ListQuery {
  const pageText = first(query, 'page');
  return {
    category: values(query, 'category'),
    severity: first(query, 'severity'),
    academy: first(query, 'academy'),
    status: values(query, 'status'),
    since: first(query, 'since'),
    until: first(query, 'until'),
    sender: first(query, 'sender'),
    recipient: first(query, 'recipient'),
    rule: first(query, 'rule'),
    group: first(query, 'group'),
    grouped: first(query, 'grouped') || '1',
    // 0: not a page number (refused with the other filters).
    page: pageText === '' ? 1 : /^\d{1,6}$/.test(pageText) ? Number(pageText) : 0,
  };
}

function nextDay(day: { year: number; month: number; day: number }): { year: number; month: number; day: number } {
  const date = new Date(Date.UTC(day.year, day.month - 1, day.day + 1));
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** The store's filter for a list query, or the first field that is wrong, named. Days are the trust's calendar days; `until` includes its day. */
function filterFor(query: ListQuery, timeZone: string): { filter: FlagFilter } | { error: string } {
  const filter: FlagFilter = {};
  if (query.category.some((c) => !CATEGORY_PATTERN.test(c))) return { error: 'category: expected a category like safety.grooming or a prefix like safety.*' };
  if (query.category.length > 0) filter.categories = query.category;
  if (query.severity !== '') {
    if (!(SEVERITIES as readonly string[]).includes(query.severity)) return { error: `severity: expected one of ${SEVERITIES.join(', ')}` };
    filter.minSeverity = query.severity as Severity;
  }
  if (query.status.some((s) => !(FLAG_STATUSES as readonly string[]).includes(s))) return { error: `status: expected one of ${FLAG_STATUSES.join(', ')}` };
  if (query.status.length > 0) filter.statuses = query.status as FlagStatus[];
  for (const name of ['since', 'until'] as const) {
    if (query[name] === '') continue;
    const day = parseDay(query[name]);
    if (!day) return { error: `${name}: expected a date like 2026-11-21` };
    filter[name] = startOfDay(name === 'until' ? nextDay(day) : day, timeZone);
  }
  if (filter.since && filter.until && filter.since >= filter.until) return { error: 'until: must be on or after since' };
  for (const name of ['academy', 'sender', 'recipient', 'rule', 'group'] as const) {
    if (query[name] === '') continue;
    if (query[name].length > MAX_TEXT) return { error: `${name}: at most ${MAX_TEXT} characters` };
    filter[name] = query[name];
  }
  if (query.grouped !== '0' && query.grouped !== '1') return { error: 'grouped: expected 1 (one row per group) or 0 (every flag)' };
  if (query.page < 1) return { error: 'page: expected a page number from 1' };
  return { filter };
}

/** The list's URL for these values (paging keeps every filter). */
function listUrl(query: ListQuery, changes: Partial<ListQuery> = {}): string {
  const merged = { ...query, ...changes };
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(merged)) {
    for (const v of Array.isArray(value) ? value : [String(value)]) {
      const defaulted = (name === 'grouped' && v === '1') || (name === 'page' && v === '1');
      if (v !== '' && !defaulted) params.append(name, v);
    }
  }
  const search = params.toString();
  return search ? `/flags?${search}` : '/flags';
}

/** Every flag of one group, one row each. */
function groupQuery(groupKey: string): ListQuery {
  return { ...readListQuery({}), group: groupKey, grouped: '0' };
}

/**
 * The filters in force, for the audit row: names and values the reviewer typed, never anything from
 * mail. A group key hashes the matched words, which auditors may not see: a group filter is recorded
 * as the lowest flag id it showed instead.
 */
function auditedFilters(query: ListQuery, shown: readonly FlagListItem[]): Record<string, unknown> {
  const { group, ...rest } = query;
  const typed = Object.fromEntries(Object.entries(rest).filter(([, v]) => (Array.isArray(v) ? v.length > 0 : v !== '')));
  if (group === '') return typed;
  return { ...typed, group: shown.length > 0 ? `flag:${Math.min(...shown.map((item) => item.id))}` : null };
}

interface OutcomeFormState {
  status: string;
  note: string;
  escalatedTo: string[];
}

const EMPTY_OUTCOME: OutcomeFormState = { status: '', note: '', escalatedTo: [] };

function readOutcome(body: unknown): OutcomeFormState {
  return { status: first(body, 'status'), note: first(body, 'note'), escalatedTo: values(body, 'escalatedTo') };
}

/** The store checks the outcome against the workflow, naming the field at fault (OutcomeError): nothing is trusted here. */
function outcomeInput(state: OutcomeFormState): OutcomeInput {
  return { status: state.status as FlagStatus, note: state.note, escalatedTo: state.escalatedTo as EscalationTarget[] };
}

/** Who records an outcome: the store writes its audit row in the outcome's own transaction. */
function auditActor(request: FastifyRequest, reviewer: Reviewer): AuditActor {
  return { actorId: reviewer.id, actor: reviewer.username, role: reviewer.role, ip: request.ip };
}

function flagIdOf(params: unknown): number | null {
  const id = (params as { id?: string }).id ?? '';
  return /^\d{1,15}$/.test(id) && Number(id) > 0 ? Number(id) : null;
}

// ---------------------------------------------------------------------------------------------
// Markup

function timeZoneOf(deps: ReviewDeps): string {
  return deps.config.delivery.timeZone;
}

function options(choices: readonly string[], selected: readonly string[], label: (choice: string) => string = (c) => c): Html[] {
  const all = [...choices, ...selected.filter((s) => !choices.includes(s))];
  return all.map((choice) => html`<option value="${choice}"${selected.includes(choice) ? html` selected` : ''}>${label(choice)}</option>`);
}

function filtersForm(deps: ReviewDeps, query: ListQuery): Html {
  const academies = deps.config.trust.academies.map((a) => a.name);
  return html`<form class="filters" method="get" action="/flags">
  <label>Category <select name="category" multiple size="5">${options(CATEGORY_CHOICES, query.category)}</select></label>
  <label>Status <select name="status" multiple size="5">${options(FLAG_STATUSES, query.status, (s) => STATUS_LABELS[s as FlagStatus] ?? s)}</select></label>
  <label>Severity at least <select name="severity"><option value="">any</option>${options(SEVERITIES, query.severity ? [query.severity] : [])}</select></label>
  <label>Academy <select name="academy"><option value="">any</option>${options(academies, query.academy ? [query.academy] : [])}</select></label>
  <label>Flagged from <input type="date" name="since" value="${query.since}"></label>
  <label>Flagged until <input type="date" name="until" value="${query.until}"></label>
  <label>Sender <input type="search" name="sender" value="${query.sender}" placeholder="address contains"></label>
  <label>Recipient <input type="search" name="recipient" value="${query.recipient}" placeholder="address contains"></label>
  <label>Rule <input type="search" name="rule" value="${query.rule}" placeholder="e.g. self_harm.intent"></label>
  <label>Show <select name="grouped">
    <option value="1"${query.grouped !== '0' ? html` selected` : ''}>one row per group</option>
    <option value="0"${query.grouped === '0' ? html` selected` : ''}>every flag</option>
  </select></label>
  ${query.group ? html`<input type="hidden" name="group" value="${query.group}">` : ''}
  <button type="submit">Filter</button>
  <a class="button secondary" href="/flags">Clear</a>
</form>`;
}

function flagRow(item: FlagListItem, query: ListQuery, timeZone: string): Html {
  const similar = query.grouped !== '0' && item.groupSize > 1 ? html` <a class="similar" href="${listUrl(groupQuery(item.groupKey))}">${item.groupSize} similar</a>` : '';
  return html`<tr>
  <td class="when">${formatDate(item.createdAt, timeZone)}</td>
  <td>${severityBadge(item.severity)}</td>
  <td>${categoryList(item.categories)}</td>
  <td><a href="/flags/${item.id}">${item.subject ?? html`<span class="muted">(no subject)</span>`}</a>${similar}</td>
  <td>${item.from ? partyLine(item.from) : html`<span class="muted">unknown</span>`}</td>
  <td>${statusBadge(item.status)}</td>
  <td>${item.academies.join(', ')}</td>
</tr>`;
}

function categoryList(categories: readonly string[]): Html {
  return html`<span class="categories">${categories.map((c) => html`<span class="category">${c}</span> `)}</span>`;
}

function pager(query: ListQuery, total: number): Html {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  return html`<nav class="pager" aria-label="Pages">
  ${query.page > 1 ? html`<a href="${listUrl(query, { page: query.page - 1 })}" rel="prev">Previous</a>` : ''}
  <span>Page ${query.page} of ${pages}</span>
  ${query.page < pages ? html`<a href="${listUrl(query, { page: query.page + 1 })}" rel="next">Next</a>` : ''}
</nav>`;
}

function outcomeForm(request: FastifyRequest, action: string, state: OutcomeFormState, legend: string): Html {
  const choices = FLAG_STATUSES.filter((s) => s !== 'new');
  return html`<form class="outcome card" method="post" action="${action}">
  ${csrfField(request)}
  <h2>${legend}</h2>
  <label>Outcome <select name="status" required>
    <option value="">choose…</option>
    ${choices.map((s) => html`<option value="${s}"${state.status === s ? html` selected` : ''}>${STATUS_LABELS[s]}</option>`)}
  </select></label>
  <fieldset class="escalate"><legend>Escalated to (for Escalated)</legend>
    ${ESCALATION_TARGETS.map((t) => html`<label class="check"><input type="checkbox" name="escalatedTo" value="${t}"${state.escalatedTo.includes(t) ? html` checked` : ''}> ${ESCALATION_LABELS[t]}</label>`)}
  </fieldset>
  <label>Note (why) <textarea name="note" required>${state.note}</textarea></label>
  <button type="submit">Record outcome</button>
</form>`;
}

async function renderList(request: FastifyRequest, reply: FastifyReply, deps: ReviewDeps, query: ListQuery, problem?: { error: string; outcome: OutcomeFormState }): Promise<void> {
  const reviewer = reviewerOf(request);
  const parsed = filterFor(query, timeZoneOf(deps));
  let body: Html;
  let error = problem?.error;
  if ('error' in parsed) {
    error = parsed.error;
    body = html``;
  } else {
    const grouped = query.grouped !== '0';
    const list = await deps.store.listFlags(flagScope(reviewer), parsed.filter, { offset: (query.page - 1) * PAGE_SIZE, limit: PAGE_SIZE }, { grouped });
    await audit(deps, request, 'flag.list', null, { filters: auditedFilters(query, list.items), total: list.total });
    const groupForm = query.group && can(reviewer, 'flags.outcome') && list.total > 0
      ? outcomeForm(request, `/flags/group/${encodeURIComponent(query.group)}/outcome`, problem?.outcome ?? EMPTY_OUTCOME, 'Outcome for every open flag in this group')
      : '';
    body = html`
<p class="muted">${list.total} ${grouped ? (list.total === 1 ? 'item' : 'items') : list.total === 1 ? 'flag' : 'flags'}${query.group ? html` in one group · <a href="/flags">all flags</a>` : ''}</p>
${list.items.length === 0
  ? html`<p class="empty">No flags match these filters.</p>`
  : html`<table class="flags">
<thead><tr><th>Flagged</th><th>Severity</th><th>Categories</th><th>Subject</th><th>From</th><th>Status</th><th>Academies</th></tr></thead>
<tbody>${list.items.map((item) => flagRow(item, query, timeZoneOf(deps)))}</tbody>
</table>`}
${pager(query, list.total)}
${groupForm}`;
  }
  const notice = noticeFor(request.query);
  const markup = page(request, {
    title: query.group ? 'Flags: one group' : 'Flags',
    section: '/flags',
    ...(notice ? { notice } : {}),
    body: html`${filtersForm(deps, query)}${error ? html`<p class="error" role="alert">${error}</p>` : ''}${body}`,
  });
  await reply.code(error ? 400 : 200).type('text/html; charset=utf-8').send(markup.value);
}

function factsList(flag: ReviewFlag, timeZone: string): Html {
  const report = flag.report;
  const fact = (label: string, value: Html | string) => html`<dt>${label}</dt><dd>${value}</dd>`;
  return html`<dl class="facts">
  ${fact('Subject', flag.subject ?? html`<span class="muted">(no subject)</span>`)}
  ${fact('Sent', report.date ? formatDate(new Date(report.date), timeZone) : html`<span class="muted">no readable date</span>`)}
  ${fact('Flagged', formatDate(flag.createdAt, timeZone))}
  ${fact('Direction', report.direction)}
  ${fact('Status', html`${statusBadge(flag.status)}${flag.statusChangedAt ? html` <span class="muted">since ${formatDate(flag.statusChangedAt, timeZone)}</span>` : ''}`)}
  ${fact('Severity', report.severity ? severityBadge(report.severity) : html`<span class="muted">none</span>`)}
  ${fact('Categories', categoryList(report.categories))}
  ${fact('Academies', flag.academies.length > 0 ? flag.academies.join(', ') : html`<span class="muted">none</span>`)}
  ${fact('Acknowledged', flag.acknowledgedAt ? `${formatDate(flag.acknowledgedAt, timeZone)}${flag.acknowledgedBy ? ` by ${flag.acknowledgedBy}` : ''}` : html`<span class="muted">not yet</span>`)}
  ${fact('Message-ID', report.messageId ?? html`<span class="muted">none</span>`)}
  ${flag.groupSize > 1 ? fact('Similar flags', html`<a href="${listUrl(groupQuery(flag.groupKey))}">${flag.groupSize} in this group</a>`) : ''}
</dl>`;
}

function partiesTable(flag: ReviewFlag): Html {
  const { from, recipients = [] } = flag.report;
  const row = (kind: string, party: NonNullable<typeof from>) => html`<tr><td>${kind}</td><td>${party.address}</td><td>${party.role}</td><td>${party.academy ?? ''}</td></tr>`;
  return html`<table class="parties"><thead><tr><th></th><th>Address</th><th>Role</th><th>Academy</th></tr></thead>
<tbody>${from ? row('From', from) : ''}${recipients.map((r) => row('To', r))}</tbody></table>`;
}

function occurrencesTable(flag: ReviewFlag, timeZone: string): Html {
  return html`<table class="occurrences"><thead><tr><th>Mailbox</th><th>Folder</th><th>First seen</th></tr></thead>
<tbody>${flag.occurrences.map((o) => html`<tr><td>${o.account}</td><td>${o.folder}</td><td>${formatDate(o.seenAt, timeZone)}</td></tr>`)}</tbody></table>`;
}

function findingCard(finding: Finding): Html {
  return html`<article class="finding card">
  <h3><code>${finding.rule}</code> ${severityBadge(finding.severity)}</h3>
  <p>${finding.description}</p>
  <dl class="facts">
    <dt>Category</dt><dd>${finding.category}</dd>
    <dt>Score</dt><dd>${finding.score.toFixed(2)}</dd>
    <dt>Policy</dt><dd>${finding.policy}</dd>
  </dl>
  <ul class="evidence">${finding.evidence.map((e) => html`<li><span class="where">${evidenceWhere(e)}</span> ${highlightedExcerpt(e)}</li>`)}</ul>
</article>`;
}

/** A DPO sees a mixed flag's personal-data findings only; the count says the rest exist. */
function hiddenFindingsNote(hidden: number): Html | string {
  if (hidden === 0) return '';
  return html`<p class="muted hidden-findings">${hidden} other ${hidden === 1 ? 'finding' : 'findings'} of this flag ${hidden === 1 ? 'is' : 'are'} outside the categories your role covers and ${hidden === 1 ? 'is' : 'are'} not shown to your role.</p>`;
}

function deliveriesTable(deliveries: readonly Delivery[], timeZone: string): Html {
  if (deliveries.length === 0) return html`<p class="muted">No copies were sent for this flag.</p>`;
  return html`<table class="deliveries"><thead><tr><th>Recipient</th><th>Form</th><th>Status</th><th>Attempts</th><th>Sent</th><th>Last error</th></tr></thead>
<tbody>${deliveries.map(
    (d) => html`<tr><td>${d.recipient}${d.escalationStep ? html` <span class="muted">(escalation ${d.escalationStep})</span>` : ''}</td><td>${d.form}</td><td><span class="badge delivery-${d.status}">${d.status}</span></td><td>${d.attempts}</td><td>${d.sentAt ? formatDate(d.sentAt, timeZone) : ''}</td><td>${d.lastError ?? ''}</td></tr>`,
  )}</tbody></table>`;
}

function historyTable(reviews: readonly ReviewEntry[], timeZone: string): Html {
  if (reviews.length === 0) return html`<p class="muted">No outcome recorded yet.</p>`;
  return html`<table class="history"><thead><tr><th>When</th><th>Reviewer</th><th>Outcome</th><th>Note</th></tr></thead>
<tbody>${reviews.map(
    (r) => html`<tr><td class="when">${formatDate(r.createdAt, timeZone)}</td><td>${r.reviewer}</td><td>${STATUS_LABELS[r.fromStatus]} → ${statusBadge(r.status)}${r.escalatedTo.length > 0 ? html` <span class="muted">to ${r.escalatedTo.map((t) => ESCALATION_LABELS[t]).join(', ')}</span>` : ''}</td><td class="note">${r.note}</td></tr>`,
  )}</tbody></table>`;
}

/**
 * After a false positive: one form per rule to suppress it for this sender and/or these words
 * (handled by /suppressions). A DPO manages personal-data rules only.
 */
function suppressionForms(request: FastifyRequest, reviewer: Reviewer, flag: ReviewFlag): Html {
  const findings = flag.report.findings.filter((f) => reviewer.role !== 'dpo' || f.category.startsWith('personal_data.'));
  const rules = [...new Set(findings.map((f) => f.rule))];
  if (rules.length === 0) return html``;
  const sender = flag.report.from?.address;
  return html`<section class="suppress"><h2>Suppress a rule</h2>
<p class="muted">Stop this rule flagging the same sender or the same words again, until the suppression expires. Choose the sender, the words, or both.</p>
${rules.map((rule) => {
    const phrases = [...new Set(findings.filter((f) => f.rule === rule).flatMap((f) => f.evidence.filter((e) => !e.masked && e.match.trim() !== '').map((e) => e.match.replace(/\s+/g, ' '))))];
    return html`<form class="card suppression" method="post" action="/suppressions">
  ${csrfField(request)}
  <input type="hidden" name="flagId" value="${flag.id}">
  <input type="hidden" name="rule" value="${rule}">
  <h3><code>${rule}</code></h3>
  ${sender ? html`<label class="check"><input type="checkbox" name="sender" value="1"> only mail from ${sender}</label>` : ''}
  <label>Words <select name="phrase"><option value="">any words</option>${phrases.map((p) => html`<option value="${p}">${p}</option>`)}</select></label>
  <label>Days <input type="number" name="days" min="1" max="365" value="90" required></label>
  <label>Reason <input type="text" name="reason" required maxlength="500"></label>
  <button type="submit">Suppress</button>
</form>`;
  })}
</section>`;
}

async function renderFlag(request: FastifyRequest, reply: FastifyReply, deps: ReviewDeps, flagId: number, problem?: { error: string; outcome: OutcomeFormState }): Promise<void> {
  const reviewer = reviewerOf(request);
  const stored = await deps.store.reviewFlag(flagId, flagScope(reviewer));
  if (!stored) return flagNotFound(request, reply);
  const [reviews, allDeliveries] = await Promise.all([deps.store.flagReviews(flagId), deps.store.deliveries({ flagId })]);
  const { flag, deliveries } = visibleRouting(stored, allDeliveries, deps.config.routes);
  await audit(deps, request, 'flag.view', `flag:${flagId}`);
  const timeZone = timeZoneOf(deps);
  const report = flag.report;
  const notice = noticeFor(request.query);
  const body = html`<div class="flag-page">
${problem ? html`<p class="error" role="alert">${problem.error}</p>` : ''}
<div class="grid">
  <section class="card"><h2>Facts</h2>${factsList(flag, timeZone)}</section>
  <section class="card"><h2>Parties</h2>${partiesTable(flag)}
    <h2>Seen in</h2>${occurrencesTable(flag, timeZone)}</section>
</div>
${report.attachmentsNotScanned && report.attachmentsNotScanned.length > 0
  ? html`<section><h2>Attachments not scanned</h2><ul>${report.attachmentsNotScanned.map((a) => html`<li>${a.contentType}, ${formatBytes(a.size)}: ${a.reason}</li>`)}</ul></section>`
  : ''}
${report.problems.length > 0 ? html`<section class="warning"><h2>Problems while scanning</h2><ul>${report.problems.map((p) => html`<li>${p}</li>`)}</ul></section>` : ''}
<section><h2>Findings</h2>${hiddenFindingsNote(flag.hiddenFindings)}${report.findings.map(findingCard)}</section>
<section><h2>Copies</h2>${deliveriesTable(deliveries, timeZone)}</section>
<section><h2>History</h2>${historyTable(reviews, timeZone)}</section>
${can(reviewer, 'flags.outcome') ? outcomeForm(request, `/flags/${flagId}/outcome`, problem?.outcome ?? EMPTY_OUTCOME, 'Record an outcome') : ''}
${flag.status === 'false_positive' && can(reviewer, 'suppressions.manage') ? suppressionForms(request, reviewer, flag) : ''}
${can(reviewer, 'flags.export')
  ? html`<p class="exports">Export this case: <a class="button secondary" href="/flags/${flagId}/export.pdf">PDF</a> <a class="button secondary" href="/flags/${flagId}/export.json">JSON</a></p>`
  : ''}</div>`;
  const markup = page(request, { title: `Flag ${flagId}`, section: '/flags', ...(notice ? { notice } : {}), body });
  await reply.code(problem ? 400 : 200).type('text/html; charset=utf-8').send(markup.value);
}

/** The same answer for a flag that does not exist and one outside the reviewer's scope. */
export async function flagNotFound(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  await reply.code(404).type('text/html; charset=utf-8').send(errorPage(request, 404, 'Not found', 'There is no such flag, or it is outside what your role may see.').value);
}

// ---------------------------------------------------------------------------------------------
// Routes

export function registerFlagPages(app: FastifyInstance, deps: ReviewDeps): void {
  app.get('/flags', { preHandler: requirePermission('flags.read') }, async (request, reply) => {
    await renderList(request, reply, deps, readListQuery(request.query));
  });

  app.get('/flags/:id', { preHandler: requirePermission('flags.read') }, async (request, reply) => {
    const flagId = flagIdOf(request.params);
    if (flagId === null) return flagNotFound(request, reply);
    await renderFlag(request, reply, deps, flagId);
  });

  app.post('/flags/:id/outcome', { preHandler: requirePermission('flags.outcome') }, async (request, reply) => {
    const flagId = flagIdOf(request.params);
    if (flagId === null) return flagNotFound(request, reply);
    const reviewer = reviewerOf(request);
    const outcome = readOutcome(request.body);
    try {
      await deps.store.recordOutcome(flagId, flagScope(reviewer), reviewer, outcomeInput(outcome), auditActor(request, reviewer));
    } catch (err) {
      if (err instanceof FlagNotFoundError) return flagNotFound(request, reply);
      if (err instanceof OutcomeError) return renderFlag(request, reply, deps, flagId, { error: err.message, outcome });
      throw err;
    }
    await reply.redirect(`/flags/${flagId}?done=outcome`, 303);
  });

  app.post('/flags/group/:key/outcome', { preHandler: requirePermission('flags.outcome') }, async (request, reply) => {
    const key = (request.params as { key: string }).key;
    const reviewer = reviewerOf(request);
    const scope = flagScope(reviewer);
    const inScope = await deps.store.listFlags(scope, { group: key }, { offset: 0, limit: 1 }, { grouped: false });
    if (inScope.total === 0) return flagNotFound(request, reply);
    const outcome = readOutcome(request.body);
    const input = outcomeInput(outcome);
    const groupList = groupQuery(key);
    let ids: number[];
    try {
      ids = await deps.store.recordGroupOutcome(key, scope, reviewer, input, auditActor(request, reviewer));
    } catch (err) {
      if (err instanceof OutcomeError) return renderList(request, reply, deps, groupList, { error: err.message, outcome });
      throw err;
    }
    await reply.redirect(`${listUrl(groupList)}&done=${ids.length > 0 ? 'group' : 'group-closed'}`, 303);
  });
}
