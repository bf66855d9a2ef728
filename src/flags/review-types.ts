/**
 * What the review side of the store knows: the people who review flags, the outcome of each flag,
 * reviewers' suppressions, targeted-monitoring authorisations and the audit log. Shared by the
 * review UI (src/review/), the scanning side (suppressions and authorisations feed back into it)
 * and the retention purge.
 */
import type { PartySummary } from '../scan/pipeline.js';
import type { Direction, Severity } from '../scan/types.js';

export const ROLES = ['monitor', 'dsl', 'dpo', 'ict_admin', 'auditor'] as const;
/**
 * monitor: every flag; dsl: flags with a party in their own academy; dpo: personal-data flags and
 * the whole audit log; ict_admin: system health, queues and users, never message content;
 * auditor: the audit log, read only.
 */
export type Role = (typeof ROLES)[number];

export const FLAG_STATUSES = ['new', 'in_review', 'escalated', 'actioned', 'no_further_action', 'false_positive'] as const;
export type FlagStatus = (typeof FLAG_STATUSES)[number];
/** Final outcomes: retention counts from the moment a flag reaches one, and precision counts them. */
export const CLOSED_STATUSES: readonly FlagStatus[] = ['actioned', 'no_further_action', 'false_positive'];

/** Who an escalated flag went to (000_84beb20efc1da5e6.txt 13.5). */
export const ESCALATION_TARGETS = ['dsl', 'lado', 'police'] as const;
export type EscalationTarget = (typeof ESCALATION_TARGETS)[number];

/** A signed-in reviewer, as the UI and the audit log see them. */
export interface Reviewer {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  /** Set for a dsl only. */
  academy: string | null;
}

/**
 * Which flags a reviewer may see. Derived from the role (see src/review/access.ts): a monitor all,
 * a DSL their academy's, a DPO those with a personal_data category. ict_admin and auditor see none.
 */
export type FlagScope = { kind: 'all' } | { kind: 'academy'; academy: string } | { kind: 'category_prefix'; prefix: string } | { kind: 'none' };

export interface FlagFilter {
  /** Exact categories or `prefix.*` patterns; a flag matches when any of its categories does. */
  categories?: string[];
  /** At least this severity. */
  minSeverity?: Severity;
  academy?: string;
  statuses?: FlagStatus[];
  /** created_at from (inclusive) and to (exclusive). */
  since?: Date;
  until?: Date;
  /** Case-insensitive substring of the sender's address. */
  sender?: string;
  /** Case-insensitive substring of any recipient's address. */
  recipient?: string;
  rule?: string;
  /** Flags of one group only. */
  group?: string;
}

export interface Page {
  offset: number;
  /** At most 200. */
  limit: number;
}

export interface FlagListItem {
  id: number;
  createdAt: Date;
  messageDate: Date | null;
  subject: string | null;
  direction: Direction;
  severity: Severity;
  urgent: boolean;
  categories: string[];
  rules: string[];
  status: FlagStatus;
  from: PartySummary | null;
  recipientCount: number;
  academies: string[];
  acknowledgedAt: Date | null;
  groupKey: string;
  /** Flags in the same group that match the same filter and scope (1 when alone). */
  groupSize: number;
}

export interface FlagList {
  /** With `grouped`, one item per group (its newest flag) carrying the group's size. */
  items: FlagListItem[];
  /** Items (or groups, when grouped) matching, for paging. */
  total: number;
}

export interface ReviewEntry {
  id: number;
  flagId: number;
  reviewer: string;
  fromStatus: FlagStatus;
  status: FlagStatus;
  escalatedTo: EscalationTarget[];
  note: string;
  createdAt: Date;
}

export interface OutcomeInput {
  status: FlagStatus;
  /** Required (non-empty): every outcome says why. */
  note: string;
  /** Required and non-empty for escalated; empty otherwise. */
  escalatedTo?: EscalationTarget[];
}

export interface AuditEntry {
  id: number;
  at: Date;
  actorId: number | null;
  /** A username, or `kestrel` for the system's own jobs (the retention purge). */
  actor: string;
  role: Role | null;
  /** Dotted verb: flag.view, flag.export.pdf, flag.outcome, suppression.create, user.create, auth.login, purge.run... */
  action: string;
  /** What was acted on: `flag:12`, `user:3`, `authorisation:2`; null for sign-in and searches. A group outcome is filed under its lowest flag id. */
  target: string | null;
  /** Ids, statuses, counts and filters; never message content or evidence. */
  details: Record<string, unknown>;
  ip: string | null;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at'>;

/** Who did something and from where: the store adds the action, target and details it alone knows (an outcome's audit row). */
export type AuditActor = Pick<AuditInput, 'actorId' | 'actor' | 'role' | 'ip'>;

export interface AuditQuery {
  actorId?: number;
  /** Exact actor name: a username, or `kestrel` for the system's own jobs. */
  actor?: string;
  action?: string;
  /** Exact target, e.g. `flag:12`. */
  target?: string;
  since?: Date;
  until?: Date;
}

export interface AuditLog {
  /** Appends one row; the table refuses updates and deletes outside the retention purge. */
  appendAudit(entry: AuditInput): Promise<AuditEntry>;
  /** Newest first. */
  auditEntries(query: AuditQuery, page: Page): Promise<{ items: AuditEntry[]; total: number }>;
}

export interface Suppression {
  id: number;
  rule: string;
  /** Lower-case address; null: any sender. */
  sender: string | null;
  /** Normalised matched words (see normalisePhrase); null: any words. */
  phrase: string | null;
  reason: string;
  flagId: number | null;
  createdBy: number | null;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  hits: number;
  lastHitAt: Date | null;
}

export interface SuppressionInput {
  rule: string;
  sender?: string | null;
  phrase?: string | null;
  reason: string;
  flagId?: number | null;
  expiresAt: Date;
}

export interface Authorisation {
  id: number;
  /** The monitored account's address, lower case. */
  account: string;
  reason: string;
  approver: string;
  piaReference: string;
  startsAt: Date;
  endsAt: Date;
  createdBy: number | null;
  createdAt: Date;
  revokedAt: Date | null;
  revokeReason: string | null;
  remindedAt: Date | null;
}
