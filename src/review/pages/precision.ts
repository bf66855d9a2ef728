/**
 * The review UI: per-rule precision from reviewers' outcomes (false positives against everything
 * closed), per rule and per academy, so lexicon authors see which rules cause alert fatigue. The
 * rules that waste most reviewers' time come first. Counts only, within the reviewer's scope.
 */
import type { FastifyInstance } from 'fastify';
import type { RulePrecision } from '../../flags/reviews.js';
import { flagScope } from '../access.js';
import { requirePermission, reviewerOf, type ReviewDeps } from '../context.js';
import { parseDay, startOfDay } from '../views/format.js';
import { html, type Html } from '../views/html.js';
import { page } from '../views/layout.js';

function byFalsePositives(a: RulePrecision, b: RulePrecision): number {
  return b.falsePositives - a.falsePositives || b.reviewed - a.reviewed || a.rule.localeCompare(b.rule);
}

function percent(precision: number | null): string {
  return precision === null ? '–' : `${Math.round(precision * 100)}%`;
}

function precisionTable(rows: readonly RulePrecision[], withAcademy: boolean): Html {
  return html`<table class="precision">
<thead><tr>${withAcademy ? html`<th>Academy</th>` : ''}<th>Rule</th><th>Category</th><th class="num">Reviewed</th><th class="num">False positives</th><th class="num">Precision</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr>${withAcademy ? html`<td>${r.academy}</td>` : ''}<td><code>${r.rule}</code></td><td>${r.category}</td><td class="num">${r.reviewed}</td><td class="num">${r.falsePositives}</td><td class="num${r.precision !== null && r.precision < 0.5 ? ' low' : ''}">${percent(r.precision)}</td></tr>`,
  )}</tbody>
</table>`;
}

const DAY_MS = 86_400_000;

/** The calendar day (YYYY-MM-DD) of an instant in the trust's zone. */
function dayIn(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(date);
}

/**
 * False positives are purged retention.falsePositiveDays after closing while other outcomes stay
 * longer (and a category may keep its flags even less), so a longer window would count outcomes
 * that are gone: the window is the shortest of those periods by default and never longer. The
 * reviewer may choose a later start.
 */
function windowStart(sinceText: string, deps: ReviewDeps): { since: Date; error: string | null } {
  const { retention } = deps.config;
  const days = Math.min(retention.falsePositiveDays, ...Object.values(retention.categories));
  const timeZone = deps.config.delivery.timeZone;
  const earliest = new Date(deps.now().getTime() - days * DAY_MS);
  if (sinceText === '') return { since: earliest, error: null };
  const day = parseDay(sinceText);
  if (!day) return { since: earliest, error: 'since: expected a date like 2026-09-01' };
  if (sinceText < dayIn(earliest, timeZone)) {
    return { since: earliest, error: `since: at most ${days} days back (from ${dayIn(earliest, timeZone)}): false positives are kept ${days} days` };
  }
  const start = startOfDay(day, timeZone);
  return { since: start < earliest ? earliest : start, error: null };
}

export function registerPrecision(app: FastifyInstance, deps: ReviewDeps): void {
  app.get('/precision', { preHandler: requirePermission('dashboard.read') }, async (request, reply) => {
    const sinceText = String((request.query as Record<string, unknown>).since ?? '').trim();
    const timeZone = deps.config.delivery.timeZone;
    const days = deps.config.retention.falsePositiveDays;
    const { since, error } = windowStart(sinceText, deps);
    const rows = error ? [] : await deps.store.rulePrecision(flagScope(reviewerOf(request)), since);
    const overall = rows.filter((r) => r.academy === null).sort(byFalsePositives);
    const perAcademy = rows.filter((r) => r.academy !== null).sort((a, b) => a.academy!.localeCompare(b.academy!) || byFalsePositives(a, b));
    const earliestDay = dayIn(new Date(deps.now().getTime() - days * DAY_MS), timeZone);
    const windowText = sinceText === '' || error
      ? `Over the last ${days} days: false positives are kept ${days} days, so a longer window would count fewer of them than there were.`
      : `Flags created from ${sinceText}, within the last ${days} days: false positives are kept ${days} days.`;
    const body = html`
<form class="filters" method="get" action="/precision">
  <label>Flags created from <input type="date" name="since" value="${sinceText || earliestDay}" min="${earliestDay}" max="${dayIn(deps.now(), timeZone)}"></label>
  <button type="submit">Show</button>
</form>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p class="muted">${windowText}</p>
<p class="muted">Precision is 1 − false positives ÷ flags reviewed to a final outcome (actioned, no further action or false positive), counted against each rule a flag had.</p>
<h2>By rule</h2>
${overall.length === 0 ? html`<p class="empty">No flags have reached a final outcome yet.</p>` : precisionTable(overall, false)}
<h2>By academy</h2>
${perAcademy.length === 0 ? html`<p class="empty">No reviewed flags name an academy.</p>` : precisionTable(perAcademy, true)}`;
    await reply
      .code(error ? 400 : 200)
      .type('text/html; charset=utf-8')
      .send(page(request, { title: 'Rule precision', section: '/precision', body }).value);
  });
}
