/**
 * The review UI: the dashboard: flags by category, academy and week within the reviewer's scope
 * (a DSL sees their academy's, a DPO personal-data flags), and the pipeline's health. Counts only:
 * no flag's content is read for it.
 */
import type { FastifyInstance } from 'fastify';
import type { Count } from '../../flags/stats.js';
import { flagScope } from '../access.js';
import { requirePermission, reviewerOf, type ReviewDeps } from '../context.js';
import { barChart, type Bar } from '../views/charts.js';
import { formatDate } from '../views/format.js';
import { html } from '../views/html.js';
import { page } from '../views/layout.js';
import { authorisationReminders } from './authorisations.js';
import { pipelinePanel } from './ops.js';

/** A school term and a bit: long enough to see a trend, short enough to read week by week. */
const WEEKS = 12;

function bars(counts: readonly Count[], none: string): Bar[] {
  return counts.map((c) => ({ label: c.key ?? none, value: c.count }));
}

export function registerDashboard(app: FastifyInstance, deps: ReviewDeps): void {
  app.get('/dashboard', { preHandler: requirePermission('dashboard.read') }, async (request, reply) => {
    const reviewer = reviewerOf(request);
    const timeZone = deps.config.delivery.timeZone;
    const [stats, health, reminders] = await Promise.all([
      deps.store.flagStats(flagScope(reviewer), { now: deps.now(), weeks: WEEKS, timeZone }),
      pipelinePanel(deps),
      authorisationReminders(deps, request),
    ]);
    const scopeNote =
      reviewer.role === 'dsl' ? `Flags with a party in ${reviewer.academy ?? 'your academy'}.` : reviewer.role === 'dpo' ? 'Flags with a personal-data category.' : 'Every flag.';
    const body = html`${reminders}
<p class="muted">${scopeNote} Counts cover the last ${WEEKS} weeks, from ${formatDate(stats.since, timeZone)}; a flag with several categories or academies counts under each.</p>
<div class="tiles">
  <a class="tile${stats.urgentUnacknowledged > 0 ? ' tile-urgent' : ''}" href="/flags?severity=urgent&amp;status=new"><span class="tile-number">${stats.urgentUnacknowledged}</span> urgent, not acknowledged</a>
  <p class="tile"><span class="tile-number">${stats.open}</span> open</p>
  <p class="tile"><span class="tile-number">${stats.closed}</span> closed</p>
  <p class="tile"><span class="tile-number">${stats.total}</span> flags in ${WEEKS} weeks</p>
</div>
<div class="grid charts">
  ${barChart({ title: 'Flags by week', bars: stats.byWeek.map((w) => ({ label: w.week, short: w.week.slice(5), value: w.count })), labelHeading: 'ISO week', valueHeading: 'Flags', orientation: 'vertical' })}
  ${barChart({ title: 'Flags by category', bars: bars(stats.byCategory, 'none'), labelHeading: 'Category', valueHeading: 'Flags' })}
  ${barChart({ title: 'Flags by academy', bars: bars(stats.byAcademy, 'No academy'), labelHeading: 'Academy', valueHeading: 'Flags' })}
  ${barChart({ title: 'Open and closed flags', bars: [{ label: 'Open', value: stats.open }, { label: 'Closed', value: stats.closed }], labelHeading: 'State', valueHeading: 'Flags', variant: 'status' })}
</div>
${health}`;
    return reply.type('text/html; charset=utf-8').send(page(request, { title: 'Dashboard', section: '/dashboard', body }).value);
  });
}
