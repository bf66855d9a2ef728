/**
 * How the review UI writes the facts of a flag: dates in the trust's time zone, severity and status
 * badges, and one line per party. Shared by every page that shows flags.
 */
import { latestDailyTime } from '../../copy/schedule.js';
import type { EscalationTarget, FlagStatus } from '../../flags/review-types.js';
import type { PartySummary } from '../../scan/pipeline.js';
import type { Severity } from '../../scan/types.js';
import { html, type Html } from './html.js';

const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(timeZone: string): Intl.DateTimeFormat {
  let format = dateFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
    dateFormats.set(timeZone, format);
  }
  return format;
}

/** `21 Nov 2026 14:05` in the trust's time zone (config.delivery.timeZone). */
export function formatDate(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(dateFormat(timeZone).formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.day} ${parts.month} ${parts.year} ${parts.hour}:${parts.minute}`;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar day written `YYYY-MM-DD`, or null when it is not one (2026-02-30 is not). */
export function parseDay(value: string): { year: number; month: number; day: number } | null {
  const match = DAY.exec(value);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? { year, month, day } : null;
}

/**
 * The instant the trust's day begins (local midnight, across clock changes). Noon UTC falls on the
 * same calendar day in every zone from UTC-12 to UTC+11, which covers UK trusts many times over.
 */
export function startOfDay(day: { year: number; month: number; day: number }, timeZone: string): Date {
  return latestDailyTime(new Date(Date.UTC(day.year, day.month - 1, day.day, 12)), '00:00', timeZone);
}

export const STATUS_LABELS: Record<FlagStatus, string> = {
  new: 'New',
  in_review: 'In review',
  escalated: 'Escalated',
  actioned: 'Actioned',
  no_further_action: 'No further action',
  false_positive: 'False positive',
};

export const ESCALATION_LABELS: Record<EscalationTarget, string> = { dsl: 'DSL', lado: 'LADO', police: 'Police' };

export function statusBadge(status: FlagStatus): Html {
  return html`<span class="badge status-${status}">${STATUS_LABELS[status]}</span>`;
}

/** The severity; an urgent one (imminent risk to a child) is marked so it stands out in a list. */
export function severityBadge(severity: Severity): Html {
  return severity === 'urgent' ? html`<strong class="badge sev-urgent">urgent</strong>` : html`<span class="badge sev-${severity}">${severity}</span>`;
}

export function partyLine(party: PartySummary): Html {
  return html`<span class="party">${party.address}</span> <span class="muted">${party.role}${party.academy ? ` · ${party.academy}` : ''}</span>`;
}

/** `1.2 MB`, for attachment sizes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
