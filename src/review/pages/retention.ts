/**
 * The review UI: retention: the periods in force and the purges that ran. Logs and monitoring data
 * are "kept for no longer than necessary" (002_ac353918cf928566.txt, Monitoring and Logging); this
 * page shows a DPO (and ict_admin, who runs the purge) that they are. Counts and periods only.
 */
import type { FastifyInstance } from 'fastify';
import type { PurgeCounts } from '../../flags/retention.js';
import { requirePermission, type ReviewDeps } from '../context.js';
import { formatDate } from '../views/format.js';
import { html } from '../views/html.js';
import { page } from '../views/layout.js';
import { sendPage } from './authorisations.js';

const COUNT_LABELS: Record<keyof PurgeCounts, string> = {
  flags: 'Flags',
  findings: 'Findings',
  occurrences: 'Mailbox occurrences',
  reviews: 'Outcomes',
  deliveries: 'Copy records',
  copyOriginals: 'Originals of failed copies',
  digests: 'Digests',
  retainedMessages: 'Kept messages (targeted monitoring)',
  messageKeys: 'Scanned message keys',
  scanFailures: 'Scan failures',
  sessions: 'Expired sessions',
  suppressions: 'Ended suppressions',
  authorisations: 'Ended authorisations (targeted monitoring)',
  auditRows: 'Audit rows',
};

export function registerRetention(app: FastifyInstance, deps: ReviewDeps): void {
  app.get('/retention', { preHandler: requirePermission('retention.read') }, async (request, reply) => {
    const retention = deps.config.retention;
    const zone = deps.config.delivery.timeZone;
    const [overdue, purges] = await Promise.all([deps.store.overdueFlags(retention, deps.now()), deps.store.purges(20)]);
    const periods: Array<[string, number]> = [
      ['False positives, after closing', retention.falsePositiveDays],
      ['Suppressions, after they expired or were revoked', retention.falsePositiveDays],
      ['Kept messages, after the authorisation ended', retention.retainedMessagesDays],
      ['Authorisations, after they ended', retention.auditDays],
      ['Audit log (the history of a flag stays while the flag does)', retention.auditDays],
      ['Scanned message keys', retention.scannedKeysDays],
      ['Scan failures', retention.scanFailuresDays],
      ['Digests', retention.digestsDays],
    ];
    const body = html`
<p>Closed flags are deleted, with their evidence, outcomes and copy records, once the longest period of their categories has passed since their final outcome.
Open flags, and flags with a copy still being delivered, are never deleted: close them. The purge runs every day at ${retention.purgeAt} (${zone}).</p>
${overdue.count > 0
  ? html`<p class="warning" role="status">${overdue.count} open ${overdue.count === 1 ? 'flag is' : 'flags are'} past ${overdue.count === 1 ? 'its' : 'their'} retention period (oldest from ${formatDate(overdue.oldestCreatedAt!, zone)}): ${overdue.count === 1 ? 'it is' : 'they are'} kept until closed.</p>`
  : ''}
<div class="grid">
<section class="card"><h2>Closed flags, by category</h2>
<table class="periods"><thead><tr><th>Category</th><th>Days</th></tr></thead>
<tbody>${Object.entries(retention.categories).sort(([a], [b]) => a.localeCompare(b)).map(([pattern, days]) => html`<tr><td><code>${pattern}</code></td><td class="num">${days}</td></tr>`)}</tbody></table></section>
<section class="card"><h2>Everything else</h2>
<table class="periods"><thead><tr><th>What</th><th>Days</th></tr></thead>
<tbody>${periods.map(([label, days]) => html`<tr><td>${label}</td><td class="num">${days}</td></tr>`)}
<tr><td>Sign-in sessions</td><td class="num">until they expire</td></tr></tbody></table></section>
</div>
<h2>Purges</h2>
${purges.length === 0
  ? html`<p class="muted">No purge has run yet.</p>`
  : html`<table class="purges"><thead><tr><th>When</th><th>By</th><th>Deleted</th></tr></thead>
<tbody>${purges.map((p) => {
      const deleted = (Object.keys(COUNT_LABELS) as Array<keyof PurgeCounts>).filter((k) => (p.counts[k] ?? 0) > 0);
      return html`<tr><td class="when">${formatDate(p.ranAt, zone)}</td><td>${p.actor}</td><td>${deleted.length === 0 ? html`<span class="muted">nothing due</span>` : deleted.map((k) => html`<span class="count">${COUNT_LABELS[k]}: ${p.counts[k]}</span> `)}</td></tr>`;
    })}</tbody></table>`}`;
    await sendPage(reply, 200, page(request, { title: 'Retention', body, section: '/retention' }));
  });
}
