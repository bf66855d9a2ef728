/**
 * The daily digest for routes that want one: counts by severity, category and academy, and one
 * line per flag with a link. Like a copy's subject, it names nobody and quotes nothing: what was
 * found is behind each flag's link.
 */
import { highestSeverity, SEVERITIES } from '../scan/types.js';
import { checkedUrl, headerToken, inWords, plural, type Block, type Inline, type MailDocument } from './compose-text.js';
import type { DigestEntry, DigestRequest } from './types.js';

/**
 * The days the period covers, `9 March 2025` or `9-10 March 2025` (ASCII, as the rest of the
 * subject); a period ending at midnight does not reach the next day.
 */
function periodDate(request: DigestRequest): string {
  const format = new Intl.DateTimeFormat('en-GB', { timeZone: request.timeZone, day: 'numeric', month: 'long', year: 'numeric' });
  const last = new Date(Math.max(request.periodStart.getTime(), request.periodEnd.getTime() - 1));
  return format.formatRange(request.periodStart, last).replace(/\s*[\u2013\u2014]\s*/g, '-').replace(/\s/g, ' ');
}

export function digestSubject(request: DigestRequest): string {
  return `[Kestrel] Daily digest for ${headerToken(request.route)}: ${plural(request.entries.length, 'flag')}, ${periodDate(request)}`;
}

export function digestHeaders(request: DigestRequest): Record<string, string> {
  const severity = highestSeverity(request.entries.map((e) => e.severity));
  const categories = [...new Set(request.entries.flatMap((e) => e.categories.map(headerToken)))].filter((c) => c !== '').sort();
  return {
    'X-Kestrel-Digest': headerToken(request.route),
    ...(categories.length ? { 'X-Kestrel-Categories': categories.join(', ') } : {}),
    ...(severity ? { 'X-Kestrel-Severity': severity } : {}),
  };
}

const NO_ACADEMY = 'No academy recorded';

/** Most first, then by name; an entry with several keys counts under each. */
function countBy(entries: DigestEntry[], keys: (entry: DigestEntry) => string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const entry of entries) for (const key of new Set(keys(entry))) counts.set(key, (counts.get(key) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function countBlocks(heading: string, counts: Array<[string, number]>): Block[] {
  return [
    { kind: 'heading', level: 2, text: heading },
    { kind: 'facts', rows: counts.map(([label, count]) => ({ label, value: [plural(count, 'flag')] })) },
  ];
}

function shortTime(date: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(date);
}

function flagRow(entry: DigestEntry, request: DigestRequest): Inline[][] {
  return [
    [shortTime(entry.createdAt, request.timeZone)],
    [{ strong: entry.severity }],
    [entry.categories.join(', ')],
    [entry.academies.length ? entry.academies.join(', ') : NO_ACADEMY],
    [{ link: `Flag ${entry.flagId}`, href: checkedUrl(entry.url, `composeDigest: route ${request.route}: flag ${entry.flagId} url`) }],
  ];
}

export function digestDocument(request: DigestRequest): MailDocument {
  const { entries, timeZone, route } = request;
  const listUrl = checkedUrl(request.listUrl, `composeDigest: route ${route}: listUrl`);
  const period = `from ${inWords(request.periodStart, timeZone)} to ${inWords(request.periodEnd, timeZone)}`;
  const sorted = [...entries].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  const severities = SEVERITIES.filter((s) => entries.some((e) => e.severity === s)).reverse();
  const body: Block[] =
    entries.length === 0
      ? [{ kind: 'paragraph', content: [`No flags were raised for ${route} in this period.`] }]
      : [
          ...countBlocks('By severity', severities.map((s) => [s, entries.filter((e) => e.severity === s).length])),
          ...countBlocks('By category', countBy(entries, (e) => e.categories)),
          ...countBlocks('By academy', countBy(entries, (e) => (e.academies.length ? e.academies : [NO_ACADEMY]))),
          { kind: 'paragraph', content: ['A flag with several categories or academies counts under each.'] },
          { kind: 'heading', level: 2, text: 'Flags' },
          {
            kind: 'table',
            columns: [{ title: 'Flagged', nowrap: true }, { title: 'Severity' }, { title: 'Categories' }, { title: 'Academies' }, { title: 'Link', nowrap: true }],
            rows: sorted.map((e) => flagRow(e, request)),
          },
        ];
  return {
    title: `Kestrel daily digest for ${route}`,
    blocks: [
      { kind: 'heading', level: 1, text: `Daily digest for ${route}` },
      { kind: 'paragraph', content: [`${plural(entries.length, 'flag')} for ${route}, ${period}.`] },
      ...body,
      { kind: 'button', text: 'Open the flag list in Kestrel', href: listUrl },
      {
        kind: 'paragraph',
        content: [`Sent automatically by Kestrel for ${request.trustName}. A digest names no one and quotes nothing: open a flag to see what was found.`],
      },
    ],
  };
}
