/**
 * One case as handed to HR or the LADO: the flag, its findings with evidence, the parties, where it
 * was seen, the copies sent (status only, never their bodies), the outcome history and the audit
 * rows of the flag, with who exported it and when. The JSON export is this object; the PDF prints it.
 */
import type { Delivery } from '../../flags/deliveries.js';
import type { ReviewFlag } from '../../flags/reviews.js';
import type { AuditEntry, FlagStatus, ReviewEntry, Reviewer } from '../../flags/review-types.js';
import type { SqlFlagStore } from '../../flags/store.js';
import type { Occurrence } from '../../flags/types.js';
import type { PartySummary, ScanReport } from '../../scan/pipeline.js';
import type { Direction, Finding, Severity } from '../../scan/types.js';
import type { Route } from '../../config/schema.js';
import { visibleRouting } from '../visible-routing.js';

export const CASE_FORMAT = 'kestrel-case/1';

export interface CaseDelivery {
  recipient: string;
  routes: string[];
  form: Delivery['form'];
  escalationStep: number | null;
  status: Delivery['status'];
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  sentAt: Date | null;
  confirmedAt: Date | null;
}

/** An audit row without the reviewer's IP address and account id: the case names people, not their machines. */
export type CaseAuditEntry = Omit<AuditEntry, 'ip' | 'actorId'>;

export interface FlagCase {
  format: typeof CASE_FORMAT;
  trust: string;
  exportedAt: Date;
  exportedBy: { username: string; displayName: string; role: Reviewer['role'] };
  flag: {
    id: number;
    subject: string | null;
    messageId: string | null;
    /** The message's own date, when it had a readable one. */
    sentAt: string | null;
    flaggedAt: Date;
    direction: Direction;
    severity: Severity | null;
    urgent: boolean;
    categories: string[];
    routes: string[];
    status: FlagStatus;
    statusChangedAt: Date | null;
    closedAt: Date | null;
    academies: string[];
    groupKey: string;
    groupSize: number;
    acknowledgedAt: Date | null;
    acknowledgedBy: string | null;
    problems: string[];
    attachmentsNotScanned: NonNullable<ScanReport['attachmentsNotScanned']>;
  };
  parties: { from: PartySummary | null; recipients: PartySummary[] };
  /** The findings the exporter's role covers (a DPO: personal-data findings only). */
  findings: Finding[];
  /** Findings of the flag outside the exporter's role, left out above. */
  hiddenFindings: number;
  occurrences: Occurrence[];
  deliveries: CaseDelivery[];
  reviews: ReviewEntry[];
  /** The flag's own audit rows, and the group outcomes that included it (naming this flag's id only); oldest first. */
  audit: CaseAuditEntry[];
}

/** The store's page limit. */
const AUDIT_PAGE = 200;

async function allAuditOf(store: SqlFlagStore, target: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  for (let offset = 0; ; offset += AUDIT_PAGE) {
    const { items, total } = await store.auditEntries({ target }, { offset, limit: AUDIT_PAGE });
    entries.push(...items);
    if (items.length === 0 || offset + items.length >= total) return entries;
  }
}

/** A group outcome's row as one flag's case shows it: the other flags' ids are not part of this case. */
function trimmedToFlag(entry: AuditEntry, flagId: number): AuditEntry {
  return { ...entry, details: { ...entry.details, ids: [flagId] } };
}

function caseDelivery(d: Delivery): CaseDelivery {
  return {
    recipient: d.recipient,
    routes: d.routes,
    form: d.form,
    escalationStep: d.escalationStep,
    status: d.status,
    attempts: d.attempts,
    lastError: d.lastError,
    createdAt: d.createdAt,
    sentAt: d.sentAt,
    confirmedAt: d.confirmedAt,
  };
}

/** The case for a flag the reviewer may see (the caller has checked the scope and audited the export). */
export async function buildCase(store: SqlFlagStore, stored: ReviewFlag, exporter: Reviewer, trust: string, routes: Record<string, Route>, exportedAt: Date): Promise<FlagCase> {
  const [reviews, allDeliveries, flagAudit, groupAudit] = await Promise.all([
    store.flagReviews(stored.id),
    store.deliveries({ flagId: stored.id }),
    allAuditOf(store, `flag:${stored.id}`),
    store.groupOutcomeAudit(stored.id),
  ]);
  const { flag, deliveries } = visibleRouting(stored, allDeliveries, routes);
  // A group outcome's row targets the group's lowest id, so it comes from groupAudit alone, once.
  const audit = [...flagAudit.filter((e) => e.action !== 'group.outcome'), ...groupAudit.map((e) => trimmedToFlag(e, flag.id))]
    .sort((a, b) => a.at.getTime() - b.at.getTime() || a.id - b.id)
    .map(({ id, at, actor, role, action, target, details }) => ({ id, at, actor, role, action, target, details }));
  const report = flag.report;
  return {
    format: CASE_FORMAT,
    trust,
    exportedAt,
    exportedBy: { username: exporter.username, displayName: exporter.displayName, role: exporter.role },
    flag: {
      id: flag.id,
      subject: flag.subject,
      messageId: report.messageId,
      sentAt: report.date,
      flaggedAt: flag.createdAt,
      direction: report.direction,
      severity: report.severity,
      urgent: report.urgent,
      categories: report.categories,
      routes: report.routes,
      status: flag.status,
      statusChangedAt: flag.statusChangedAt,
      closedAt: flag.closedAt,
      academies: flag.academies,
      groupKey: flag.groupKey,
      groupSize: flag.groupSize,
      acknowledgedAt: flag.acknowledgedAt,
      acknowledgedBy: flag.acknowledgedBy,
      problems: report.problems,
      attachmentsNotScanned: report.attachmentsNotScanned ?? [],
    },
    parties: { from: report.from ?? null, recipients: report.recipients ?? [] },
    findings: report.findings,
    hiddenFindings: flag.hiddenFindings,
    occurrences: flag.occurrences,
    deliveries: deliveries.map(caseDelivery),
    reviews,
    audit,
  };
}
