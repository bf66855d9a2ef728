/**
 * The review UI: targeted monitoring: authorisations and the messages kept under them.
 * Occasional monitoring of one account is decided beforehand, with a privacy impact assessment,
 * and is a short-term measure (003_c7be022a1d032c68.txt 7.1-7.2); the case for continuing it "shall
 * be reviewed on a regular basis" and the staff doing it "monitor only to the extent necessary to
 * establish the facts" (002_ac353918cf928566.txt, Monitoring the use of telephone, e-mail and the
 * Internet). Hence: every field required, an end date, reminders, and every kept message opened
 * only by a monitor and written to the audit log.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import PostalMime, { type Address, type Email } from 'postal-mime';
import { AuthorisationError, checkAuthorisation, effectiveEnd, isActive, openRetained, type AuthorisationField, type AuthorisationInput } from '../../flags/authorisations.js';
import type { Authorisation } from '../../flags/review-types.js';
import { htmlToText } from '../../scan/parse/html-to-text.js';
import { can } from '../access.js';
import { audit, requirePermission, reviewerOf, type ReviewDeps } from '../context.js';
import { formatBytes, formatDate, parseDay, startOfDay } from '../views/format.js';
import { html, type Html } from '../views/html.js';
import { csrfField, errorPage, page } from '../views/layout.js';

/** Reviewers are reminded this many days before an authorisation ends. */
const REMINDER_DAYS = 7;
const MESSAGES_PER_PAGE = 50;

// ---------------------------------------------------------------------------------------------
// Shared with the other pages of this area

/** One trimmed form or query value ('' when absent; the first of repeated values). */
export function formText(fields: unknown, name: string): string {
  const value = (fields as Record<string, unknown> | undefined)?.[name];
  const one: unknown = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' ? one.trim() : '';
}

/** A positive whole id from a URL, or null (the page then answers 404). */
export function idParam(text: string): number | null {
  if (!/^\d{1,15}$/.test(text)) return null;
  const id = Number(text);
  return id > 0 ? id : null;
}

/** The fixed notice a `?done=` code names; the query text itself is never shown. */
export function noticeFor(query: unknown, notices: Record<string, string>): string | undefined {
  const done = formText(query, 'done');
  return Object.hasOwn(notices, done) ? notices[done] : undefined;
}

export async function sendPage(reply: FastifyReply, status: number, markup: Html): Promise<void> {
  await reply.code(status).type('text/html; charset=utf-8').send(markup.value);
}

// ---------------------------------------------------------------------------------------------
// Dates

/** `YYYY-MM-DD` of the trust's calendar day at `at`. */
function dayOf(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

function nextDay(day: { year: number; month: number; day: number }): { year: number; month: number; day: number } {
  const next = new Date(Date.UTC(day.year, day.month - 1, day.day + 1));
  return { year: next.getUTCFullYear(), month: next.getUTCMonth() + 1, day: next.getUTCDate() };
}

function when(date: Date, deps: ReviewDeps): string {
  return formatDate(date, deps.config.delivery.timeZone);
}

// ---------------------------------------------------------------------------------------------
// Reminders

/**
 * A banner for reviewers who manage authorisations: those ending within a week, and those ended
 * whose review is not yet recorded. Null when there is nothing to reconsider (or the reviewer may
 * not manage authorisations). Any page may show it.
 */
export async function authorisationReminders(deps: ReviewDeps, request: FastifyRequest): Promise<Html | null> {
  if (!can(request.reviewer, 'authorisations.manage')) return null;
  const now = deps.now();
  const due = await deps.store.authorisationsDue(now, REMINDER_DAYS);
  if (due.length === 0) return null;
  return html`<section class="reminders warning" role="status" aria-label="Targeted monitoring to reconsider">
<strong>Targeted monitoring to reconsider</strong>
<ul>${due.map((a) => {
    const end = effectiveEnd(a);
    return html`<li><a href="/authorisations/${a.id}">${a.account}</a>: ${end > now ? html`ends ${when(end, deps)}: continue only if still necessary` : html`ended ${when(end, deps)}: record that it was reviewed`}</li>`;
  })}</ul>
</section>`;
}

// ---------------------------------------------------------------------------------------------
// The list and the form

type FormState = Record<'account' | 'reason' | 'approver' | 'piaReference' | 'startsOn' | 'endsOn', string>;

const NOTICES: Record<string, string> = {
  created: 'Authorisation recorded. Messages to and from the account are kept from its start until it ends.',
  ended: 'Authorisation ended.',
  'already-ended': 'That authorisation had already ended.',
  reviewed: 'Review recorded.',
  'not-reviewed': 'Only an ended authorisation that is not yet reviewed can be marked reviewed.',
};

function emptyForm(deps: ReviewDeps): FormState {
  const today = dayOf(deps.now(), deps.config.delivery.timeZone);
  return { account: '', reason: '', approver: '', piaReference: '', startsOn: today, endsOn: '' };
}

function stateOf(a: Authorisation, now: Date): 'scheduled' | 'active' | 'ended' {
  if (isActive(a, now)) return 'active';
  return effectiveEnd(a) <= now ? 'ended' : 'scheduled';
}

function problemText(problems: Partial<Record<string, string>>, field: string): Html | string {
  const problem = problems[field];
  return problem ? html`<span class="field-error">${problem}</span>` : '';
}

function createForm(request: FastifyRequest, deps: ReviewDeps, state: FormState, problems: Partial<Record<string, string>>): Html {
  const maxDays = deps.config.retention.maxAuthorisationDays;
  const input = (name: keyof FormState, label: string, type = 'text'): Html =>
    html`<label>${label} <input type="${type}" name="${name}" value="${state[name]}" required${problems[name] ? html` aria-invalid="true"` : ''}>${problemText(problems, name)}</label>`;
  return html`<form class="card authorisation-form" method="post" action="/authorisations">
${csrfField(request)}
<h2>Record an authorisation</h2>
<p class="muted">Only where there are reasonable grounds to suspect misuse, approved by the Headteacher or Governing Body, after a privacy impact assessment
(003_c7be022a1d032c68.txt 7.1-7.2). At most ${maxDays} days; review it regularly and end it as soon as the facts are established.</p>
<div class="fields">
${input('account', 'Account (trust address)', 'email')}
${input('approver', 'Approved by')}
${input('piaReference', 'Privacy impact assessment reference')}
${input('startsOn', 'First day', 'date')}
${input('endsOn', 'Last day', 'date')}
</div>
<label>Reason <textarea name="reason" required>${state.reason}</textarea>${problemText(problems, 'reason')}</label>
<button type="submit">Record authorisation</button>
</form>`;
}

function authorisationsTable(request: FastifyRequest, deps: ReviewDeps, rows: Authorisation[], now: Date): Html {
  return html`<table class="authorisations"><thead><tr><th>Account</th><th>Reason</th><th>Approved by</th><th>PIA</th><th>From</th><th>Until</th><th></th></tr></thead>
<tbody>${rows.map((a) => {
    const state = stateOf(a, now);
    return html`<tr class="authorisation-${state}">
<td><a href="/authorisations/${a.id}">${a.account}</a></td>
<td class="note">${a.reason}</td>
<td>${a.approver}</td>
<td>${a.piaReference}</td>
<td class="when">${when(a.startsAt, deps)}</td>
<td class="when">${when(effectiveEnd(a), deps)}${a.revokedAt ? html`<br><span class="muted">ended early: ${a.revokeReason ?? ''}</span>` : ''}</td>
<td>${state === 'ended' && !a.remindedAt ? reviewedForm(request, a) : state === 'ended' ? html`<span class="muted">reviewed</span>` : ''}</td>
</tr>`;
  })}</tbody></table>`;
}

function reviewedForm(request: FastifyRequest, a: Authorisation): Html {
  return html`<form class="inline" method="post" action="/authorisations/${a.id}/reviewed">${csrfField(request)}<button type="submit" class="secondary">Mark reviewed</button></form>`;
}

async function renderList(request: FastifyRequest, reply: FastifyReply, deps: ReviewDeps, status = 200, form?: { state: FormState; problems: Partial<Record<string, string>> }): Promise<void> {
  const now = deps.now();
  const all = await deps.store.authorisations();
  const current = all.filter((a) => stateOf(a, now) !== 'ended');
  const ended = all.filter((a) => stateOf(a, now) === 'ended');
  const body = html`
${await authorisationReminders(deps, request)}
${form && Object.keys(form.problems).length > 0 ? html`<p class="error" role="alert">The authorisation was not recorded: ${Object.values(form.problems).join('; ')}</p>` : ''}
<h2>Active and scheduled</h2>
${current.length === 0 ? html`<p class="muted">No account is being monitored.</p>` : authorisationsTable(request, deps, current, now)}
${createForm(request, deps, form?.state ?? emptyForm(deps), form?.problems ?? {})}
<h2>Ended</h2>
${ended.length === 0 ? html`<p class="muted">None.</p>` : authorisationsTable(request, deps, ended, now)}`;
  await sendPage(reply, status, page(request, { title: 'Targeted monitoring', body, section: '/authorisations', notice: noticeFor(request.query, NOTICES) }));
}

/** The form's dates as instants: from the trust's midnight of the first day to the midnight after the last. */
function inputFrom(state: FormState, deps: ReviewDeps, problems: Partial<Record<AuthorisationField, string>>): AuthorisationInput {
  const zone = deps.config.delivery.timeZone;
  const first = parseDay(state.startsOn);
  const last = parseDay(state.endsOn);
  if (!first) problems.startsAt = 'startsOn: expected a date';
  else if (state.startsOn < dayOf(deps.now(), zone)) problems.startsAt = 'startsOn: monitoring cannot start in the past';
  if (!last) problems.endsAt = 'endsOn: expected a date';
  return {
    account: state.account,
    reason: state.reason,
    approver: state.approver,
    piaReference: state.piaReference,
    startsAt: first ? startOfDay(first, zone) : new Date(NaN),
    endsAt: last ? startOfDay(nextDay(last), zone) : new Date(NaN),
  };
}

/** Form field names for the store's: the page's date fields are days. */
const FORM_FIELD: Record<AuthorisationField, keyof FormState> = { account: 'account', reason: 'reason', approver: 'approver', piaReference: 'piaReference', startsAt: 'startsOn', endsAt: 'endsOn' };

async function create(request: FastifyRequest, reply: FastifyReply, deps: ReviewDeps): Promise<void> {
  const form = request.body;
  const state: FormState = {
    account: formText(form, 'account'),
    reason: formText(form, 'reason'),
    approver: formText(form, 'approver'),
    piaReference: formText(form, 'piaReference'),
    startsOn: formText(form, 'startsOn'),
    endsOn: formText(form, 'endsOn'),
  };
  const problems: Partial<Record<AuthorisationField, string>> = {};
  const input = inputFrom(state, deps, problems);
  let checked: AuthorisationInput | null = null;
  try {
    checked = checkAuthorisation(input, { trustDomains: deps.config.trust.domains, maxDays: deps.config.retention.maxAuthorisationDays });
  } catch (error) {
    if (!(error instanceof AuthorisationError)) throw error;
    for (const [field, problem] of Object.entries(error.problems) as Array<[AuthorisationField, string]>) {
      problems[field] ??= problem.replace(/^startsAt:/, 'startsOn:').replace(/^endsAt:/, 'endsOn:');
    }
  }
  if (!checked || Object.keys(problems).length > 0) {
    const byField = Object.fromEntries(Object.entries(problems).map(([field, problem]) => [FORM_FIELD[field as AuthorisationField], problem]));
    return renderList(request, reply, deps, 400, { state, problems: byField });
  }
  const created = await deps.store.createAuthorisation(checked, reviewerOf(request));
  await audit(deps, request, 'authorisation.create', `authorisation:${created.id}`, {
    startsAt: created.startsAt.toISOString(),
    endsAt: created.endsAt.toISOString(),
    piaReference: created.piaReference,
  });
  await reply.redirect('/authorisations?done=created', 303);
}

// ---------------------------------------------------------------------------------------------
// One authorisation and its kept messages

async function notFound(request: FastifyRequest, reply: FastifyReply, what = 'authorisation'): Promise<void> {
  await sendPage(reply, 404, errorPage(request, 404, 'Not found', `There is no such ${what}.`));
}

async function renderOne(request: FastifyRequest, reply: FastifyReply, deps: ReviewDeps, a: Authorisation): Promise<void> {
  const now = deps.now();
  const state = stateOf(a, now);
  const reviewer = reviewerOf(request);
  const pageText = formText(request.query, 'page');
  if (pageText !== '' && !/^[1-9]\d{0,6}$/.test(pageText)) {
    await sendPage(reply, 400, errorPage(request, 400, 'Bad request', 'page: expected a whole number from 1.'));
    return;
  }
  const pageNumber = pageText === '' ? 1 : Number(pageText);
  // Who looked at an authorisation (its reason, and the list of what was kept under it), as any view of monitoring content.
  await audit(deps, request, 'authorisation.view', `authorisation:${a.id}`, { page: pageNumber });
  const kept = can(reviewer, 'targeted.read') ? await deps.store.retainedMessages(a.id, { offset: (pageNumber - 1) * MESSAGES_PER_PAGE, limit: MESSAGES_PER_PAGE }) : null;
  const body = html`
<section class="card"><dl class="facts">
<dt>Account</dt><dd>${a.account}</dd>
<dt>State</dt><dd>${state}${state === 'ended' ? (a.remindedAt ? ' (reviewed)' : ' (not yet reviewed)') : ''}</dd>
<dt>Reason</dt><dd class="note">${a.reason}</dd>
<dt>Approved by</dt><dd>${a.approver}</dd>
<dt>Privacy impact assessment</dt><dd>${a.piaReference}</dd>
<dt>From</dt><dd>${when(a.startsAt, deps)}</dd>
<dt>Until</dt><dd>${when(a.endsAt, deps)}</dd>
${a.revokedAt ? html`<dt>Ended early</dt><dd>${when(a.revokedAt, deps)}: ${a.revokeReason ?? ''}</dd>` : ''}
</dl></section>
${state !== 'ended'
    ? html`<form class="card" method="post" action="/authorisations/${a.id}/end">${csrfField(request)}
<label>Reason for ending now <input type="text" name="reason" required maxlength="500"></label>
<button type="submit" class="danger">End monitoring now</button></form>`
    : !a.remindedAt
      ? reviewedForm(request, a)
      : ''}
<h2>Kept messages</h2>
${kept === null
    ? html`<p class="muted">Only monitors read the messages kept under an authorisation.</p>`
    : kept.items.length === 0
      ? html`<p class="muted">No messages kept${pageNumber > 1 ? ' on this page' : ''}.</p>`
      : html`<table class="kept"><thead><tr><th>Date</th><th>Direction</th><th>Flag</th><th>Kept</th></tr></thead>
<tbody>${kept.items.map(
          (m) => html`<tr><td><a href="/authorisations/${a.id}/messages/${m.id}">${m.messageDate ? when(m.messageDate, deps) : 'no date'}</a></td><td>${m.direction}</td><td>${m.flagId !== null ? html`<a href="/flags/${m.flagId}">${m.flagId}</a>` : ''}</td><td class="when">${when(m.storedAt, deps)}</td></tr>`,
        )}</tbody></table>
<p class="pager">${pageNumber > 1 ? html`<a href="/authorisations/${a.id}?page=${pageNumber - 1}">Newer</a>` : ''} <span>${kept.total} kept</span> ${pageNumber * MESSAGES_PER_PAGE < kept.total ? html`<a href="/authorisations/${a.id}?page=${pageNumber + 1}">Older</a>` : ''}</p>`}`;
  await sendPage(reply, 200, page(request, { title: `Targeted monitoring: ${a.account}`, body, section: '/authorisations', notice: noticeFor(request.query, NOTICES) }));
}

function addressList(list: Address[] | Address | undefined): string {
  if (!list) return '';
  const flat = (Array.isArray(list) ? list : [list]).flatMap((a) => (a.group ? a.group : [a]));
  return flat.map((a) => (a.name ? `${a.name} <${a.address}>` : a.address)).join(', ');
}

/** The body as text: the text part, else the HTML part converted to text (never the HTML itself). */
function bodyText(email: Email, deps: ReviewDeps): string {
  if (email.text !== undefined) return email.text;
  if (email.html !== undefined) return htmlToText(email.html, deps.config.scan.maxTextChars).text;
  return '';
}

function attachmentSize(content: Email['attachments'][number]['content']): number {
  return typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
}

async function renderMessage(request: FastifyRequest, reply: FastifyReply, deps: ReviewDeps, a: Authorisation, messageId: number): Promise<void> {
  const found = await deps.store.retainedMessage(a.id, messageId);
  if (!found) return notFound(request, reply, 'kept message');
  const raw = openRetained(found.sealed, deps.keys.original, a.id, found.message.messageKey);
  const email = await PostalMime.parse(raw);
  await audit(deps, request, 'targeted.view', `authorisation:${a.id}`, { retainedMessageId: messageId });
  const header = (label: string, value: string | undefined): Html | string => (value ? html`<dt>${label}</dt><dd>${value}</dd>` : '');
  const body = html`
<p><a href="/authorisations/${a.id}">Back to the authorisation</a></p>
<section class="card"><dl class="facts">
${header('From', addressList(email.from))}
${header('To', addressList(email.to))}
${header('Cc', addressList(email.cc))}
${header('Date', email.date)}
${header('Subject', email.subject)}
</dl></section>
<pre class="text">${bodyText(email, deps)}</pre>
${email.attachments.length > 0
    ? html`<h2>Attachments</h2><ul class="attachments">${email.attachments.map((att) => html`<li>${att.mimeType}, ${formatBytes(attachmentSize(att.content))}</li>`)}</ul>`
    : ''}`;
  await sendPage(reply, 200, page(request, { title: 'Kept message', body, section: '/authorisations' }));
}

// ---------------------------------------------------------------------------------------------
// Routes

export function registerAuthorisations(app: FastifyInstance, deps: ReviewDeps): void {
  const manage = { preHandler: requirePermission('authorisations.manage') };
  const withAuthorisation =
    (handle: (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, a: Authorisation) => Promise<void>) =>
    async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<void> => {
      const id = idParam(request.params.id);
      const a = id === null ? null : await deps.store.authorisation(id);
      if (!a) return notFound(request, reply);
      return handle(request, reply, a);
    };

  app.get('/authorisations', manage, (request, reply) => renderList(request, reply, deps));
  app.post('/authorisations', manage, (request, reply) => create(request, reply, deps));
  app.get<{ Params: { id: string } }>('/authorisations/:id', manage, withAuthorisation((request, reply, a) => renderOne(request, reply, deps, a)));

  app.get<{ Params: { id: string; messageId: string } }>('/authorisations/:id/messages/:messageId', { preHandler: requirePermission('targeted.read') }, async (request, reply) => {
    const id = idParam(request.params.id);
    const messageId = idParam(request.params.messageId);
    const a = id === null ? null : await deps.store.authorisation(id);
    if (!a || messageId === null) return notFound(request, reply, 'kept message');
    return renderMessage(request, reply, deps, a, messageId);
  });

  app.post<{ Params: { id: string } }>(
    '/authorisations/:id/end',
    manage,
    withAuthorisation(async (request, reply, a) => {
      const reason = formText(request.body, 'reason');
      if (reason === '') {
        await sendPage(reply, 400, errorPage(request, 400, 'Not ended', 'reason: say why monitoring ends now.'));
        return;
      }
      const ended = await deps.store.endAuthorisation(a.id, reviewerOf(request), reason, deps.now());
      if (ended) await audit(deps, request, 'authorisation.end', `authorisation:${a.id}`, { early: true });
      await reply.redirect(`/authorisations/${a.id}?done=${ended ? 'ended' : 'already-ended'}`, 303);
    }),
  );

  app.post<{ Params: { id: string } }>(
    '/authorisations/:id/reviewed',
    manage,
    withAuthorisation(async (request, reply, a) => {
      const reviewed = await deps.store.markAuthorisationReviewed(a.id, deps.now());
      if (reviewed) await audit(deps, request, 'authorisation.review', `authorisation:${a.id}`);
      await reply.redirect(`/authorisations/${a.id}?done=${reviewed ? 'reviewed' : 'not-reviewed'}`, 303);
    }),
  );
}
