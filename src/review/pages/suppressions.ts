/**
 * The review UI: suppressions: create from a false positive (the form is on the flag page), list,
 * revoke. A suppression drops later findings of one rule from one sender and/or with the same
 * matched words until it expires; urgent findings are never dropped, whatever is suppressed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ReviewFlag } from '../../flags/reviews.js';
import type { Reviewer, Suppression } from '../../flags/review-types.js';
import { normalisePhrase, SuppressionError } from '../../flags/suppressions.js';
import { flagScope } from '../access.js';
import { audit, requirePermission, reviewerOf, type ReviewDeps } from '../context.js';
import { formatDate } from '../views/format.js';
import { html, type Html } from '../views/html.js';
import { csrfField, errorPage, page } from '../views/layout.js';
import { formText, idParam, noticeFor, sendPage } from './authorisations.js';

const MAX_DAYS = 365;

const NOTICES: Record<string, string> = {
  created: 'Suppression created. Urgent findings are still reported.',
  revoked: 'Suppression revoked: the rule flags these findings again.',
  'not-revoked': 'That suppression had already been revoked.',
};

/** A DPO works on personal data only (access.ts): they suppress and revoke personal-data rules, nothing else. */
function mayManageRule(reviewer: Reviewer, rule: string, category: string | null): boolean {
  if (reviewer.role !== 'dpo') return true;
  return (category ?? rule).startsWith('personal_data.');
}

function suppressionRow(request: FastifyRequest, deps: ReviewDeps, s: Suppression, now: Date): Html {
  const zone = deps.config.delivery.timeZone;
  const state = s.revokedAt ? 'revoked' : s.expiresAt <= now ? 'expired' : 'active';
  return html`<tr class="suppression-${state}">
<td><code>${s.rule}</code></td>
<td>${s.sender ?? html`<span class="muted">any sender</span>`}</td>
<td>${s.phrase ?? html`<span class="muted">any words</span>`}</td>
<td class="note">${s.reason}</td>
<td>${s.flagId !== null ? html`<a href="/flags/${s.flagId}">${s.flagId}</a>` : html`<span class="muted">purged</span>`}</td>
<td class="when">${formatDate(s.createdAt, zone)}</td>
<td class="when">${state === 'revoked' ? html`revoked ${formatDate(s.revokedAt!, zone)}` : html`${state === 'expired' ? 'expired ' : ''}${formatDate(s.expiresAt, zone)}`}</td>
<td class="num">${s.hits}${s.lastHitAt ? html`<br><span class="muted">last ${formatDate(s.lastHitAt, zone)}</span>` : ''}</td>
<td>${state === 'active' && mayManageRule(reviewerOf(request), s.rule, null)
    ? html`<form class="inline" method="post" action="/suppressions/${s.id}/revoke">${csrfField(request)}<button type="submit" class="secondary">Revoke</button></form>`
    : ''}</td>
</tr>`;
}

async function renderList(request: FastifyRequest, reply: FastifyReply, deps: ReviewDeps): Promise<void> {
  const reviewer = reviewerOf(request);
  const all = (request.query as Record<string, unknown> | undefined)?.all === '1';
  const now = deps.now();
  const rows = (await deps.store.suppressions({ includeInactive: all })).filter((s) => mayManageRule(reviewer, s.rule, null));
  // The list shows senders and matched words: who read it is recorded like any view of flagged content.
  await audit(deps, request, 'suppression.list', null, { all, shown: rows.length });
  const body = html`
<p class="rule-note">A suppression stops one rule flagging mail from one sender and/or with the same words until it expires.
<strong>Urgent findings (imminent risk to a child) are never suppressed.</strong> New suppressions are made from a flag marked as a false positive.</p>
<p>${all ? html`<a href="/suppressions">Show active suppressions only</a>` : html`<a href="/suppressions?all=1">Show expired and revoked suppressions too</a>`}</p>
${rows.length === 0
    ? html`<p class="muted">No ${all ? '' : 'active '}suppressions.</p>`
    : html`<table class="suppressions"><thead><tr><th>Rule</th><th>Sender</th><th>Words</th><th>Reason</th><th>Flag</th><th>Created</th><th>Expires</th><th>Findings dropped</th><th></th></tr></thead>
<tbody>${rows.map((s) => suppressionRow(request, deps, s, now))}</tbody></table>`}`;
  await sendPage(reply, 200, page(request, { title: 'Suppressions', body, section: '/suppressions', notice: noticeFor(request.query, NOTICES) }));
}

async function refuse(request: FastifyRequest, reply: FastifyReply, status: number, message: string, flagId?: number): Promise<void> {
  const body = html`<p class="error" role="alert">${message}</p>${flagId ? html`<p><a href="/flags/${flagId}">Back to flag ${flagId}</a></p>` : ''}`;
  await sendPage(reply, status, page(request, { title: 'Suppression not created', body, section: '/suppressions' }));
}

/** The rule's findings on the flag, and their matched words as a suppression compares them. */
function ruleOnFlag(flag: ReviewFlag, rule: string): { category: string; phrases: Set<string> } | null {
  const findings = flag.report.findings.filter((f) => f.rule === rule);
  if (findings.length === 0) return null;
  return { category: findings[0]!.category, phrases: new Set(findings.flatMap((f) => f.evidence.filter((e) => !e.masked).map((e) => normalisePhrase(e.match)))) };
}

async function create(request: FastifyRequest, reply: FastifyReply, deps: ReviewDeps): Promise<void> {
  const reviewer = reviewerOf(request);
  const form = request.body;
  const flagId = Number(formText(form, 'flagId'));
  const flag = Number.isSafeInteger(flagId) && flagId > 0 ? await deps.store.reviewFlag(flagId, flagScope(reviewer)) : null;
  if (!flag) return refuse(request, reply, 404, 'flagId: there is no such flag, or it is outside what your role may see.');
  if (flag.status !== 'false_positive') return refuse(request, reply, 400, 'flagId: only a flag closed as a false positive can suppress its rules.', flag.id);
  const rule = formText(form, 'rule');
  const onFlag = ruleOnFlag(flag, rule);
  if (!onFlag) return refuse(request, reply, 400, `rule: this flag has no finding of the rule "${rule}".`, flag.id);
  if (!mayManageRule(reviewer, rule, onFlag.category)) return refuse(request, reply, 403, 'rule: a DPO may suppress personal-data rules only.', flag.id);
  const sender = formText(form, 'sender') === '1' ? (flag.report.from?.address ?? null) : null;
  if (formText(form, 'sender') === '1' && sender === null) return refuse(request, reply, 400, 'sender: this flag has no sender address.', flag.id);
  const phrase = normalisePhrase(formText(form, 'phrase')) || null;
  if (phrase !== null && !onFlag.phrases.has(phrase)) return refuse(request, reply, 400, 'phrase: choose words this rule matched on the flag.', flag.id);
  const days = Number(formText(form, 'days'));
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) return refuse(request, reply, 400, `days: expected a whole number from 1 to ${MAX_DAYS}.`, flag.id);
  let created: Suppression;
  try {
    created = await deps.store.createSuppression(
      { rule, sender, phrase, reason: formText(form, 'reason'), flagId: flag.id, expiresAt: new Date(deps.now().getTime() + days * 86_400_000) },
      reviewer,
    );
  } catch (error) {
    if (error instanceof SuppressionError) return refuse(request, reply, 400, error.message, flag.id);
    throw error;
  }
  // Which rule and for how long; the sender and words stay in the suppression, not in the log.
  await audit(deps, request, 'suppression.create', `suppression:${created.id}`, { flagId: flag.id, rule, bySender: sender !== null, byPhrase: phrase !== null, days });
  await reply.redirect('/suppressions?done=created', 303);
}

export function registerSuppressions(app: FastifyInstance, deps: ReviewDeps): void {
  app.get('/suppressions', { preHandler: requirePermission('suppressions.manage') }, (request, reply) => renderList(request, reply, deps));
  app.post('/suppressions', { preHandler: requirePermission('suppressions.manage') }, (request, reply) => create(request, reply, deps));
  app.post<{ Params: { id: string } }>('/suppressions/:id/revoke', { preHandler: requirePermission('suppressions.manage') }, async (request, reply) => {
    const reviewer = reviewerOf(request);
    const id = idParam(request.params.id);
    const target = id === null ? null : await deps.store.suppression(id);
    if (!target || !mayManageRule(reviewer, target.rule, null)) {
      await sendPage(reply, 404, errorPage(request, 404, 'Not found', 'There is no such suppression, or your role may not manage it.'));
      return;
    }
    const revoked = await deps.store.revokeSuppression(target.id, reviewer);
    if (revoked) await audit(deps, request, 'suppression.revoke', `suppression:${target.id}`, { rule: target.rule });
    await reply.redirect(`/suppressions?done=${revoked ? 'revoked' : 'not-revoked'}`, 303);
  });
}
