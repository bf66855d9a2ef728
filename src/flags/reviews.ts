/** The review side of flags: scoped lists with filters and grouping, outcomes and their history, per-rule precision. */
import type { StoredFlag } from './store.js';
import type { FlagFilter, FlagList, FlagScope, FlagStatus, OutcomeInput, Page, ReviewEntry, Reviewer } from './review-types.js';
import type { SqlClient } from './sql.js';

/** A flag as a reviewer sees it: the stored flag with its review state. */
export interface ReviewFlag extends StoredFlag {
  subject: string | null;
  status: FlagStatus;
  statusChangedAt: Date | null;
  closedAt: Date | null;
  academies: string[];
  groupKey: string;
  /** Flags in the group that the same scope covers (1 when alone). */
  groupSize: number;
  acknowledgedAt: Date | null;
  acknowledgedBy: string | null;
}

/** Reviewers' false positives against everything they closed, for one rule (and one academy, or all). */
export interface RulePrecision {
  rule: string;
  category: string;
  /** null: every academy together. */
  academy: string | null;
  /** Flags with this rule that reached a final outcome. */
  reviewed: number;
  falsePositives: number;
  /** 1 - falsePositives / reviewed; null when nothing was reviewed. */
  precision: number | null;
}

/** Thrown for an outcome the workflow does not allow (the message says why, for the reviewer). */
export class OutcomeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutcomeError';
  }
}

export interface ReviewQueries {
  listFlags(scope: FlagScope, filter: FlagFilter, page: Page, options?: { grouped?: boolean }): Promise<FlagList>;
  /** Null when there is no such flag or it is outside the scope (a page shows 404 either way). */
  reviewFlag(flagId: number, scope: FlagScope): Promise<ReviewFlag | null>;
  /** Oldest first. */
  flagReviews(flagId: number): Promise<ReviewEntry[]>;
  /** Records an outcome and acknowledges the flag (its escalation stops). Throws OutcomeError when not allowed. */
  recordOutcome(flagId: number, scope: FlagScope, reviewer: Reviewer, outcome: OutcomeInput): Promise<ReviewEntry>;
  /** The same outcome for every flag of the group in scope that is not closed; returns their ids. */
  recordGroupOutcome(groupKey: string, scope: FlagScope, reviewer: Reviewer, outcome: OutcomeInput): Promise<number[]>;
  /** Per rule overall (academy null) and per rule and academy, over flags created since `since`. */
  rulePrecision(scope: FlagScope, since?: Date): Promise<RulePrecision[]>;
}

export function createReviewQueries(_client: SqlClient): ReviewQueries {
  const pending = (): never => {
    throw new Error('review queries: not built yet');
  };
  return {
    listFlags: async () => pending(),
    reviewFlag: async () => pending(),
    flagReviews: async () => pending(),
    recordOutcome: async () => pending(),
    recordGroupOutcome: async () => pending(),
    rulePrecision: async () => pending(),
  };
}
