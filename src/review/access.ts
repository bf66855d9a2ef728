/**
 * Who may do what in the review UI, as data: one table of permissions by role, and the flags each
 * role's scope covers. Pages ask `can(reviewer, permission)` and the store is always queried with
 * `flagScope(reviewer)`, so a DSL's list, dashboard and exports cover only their own academy.
 */
import type { FlagScope, Reviewer, Role } from '../flags/review-types.js';

export const PERMISSIONS = {
  /** See flags in scope: list, flag page, groups. */
  'flags.read': ['monitor', 'dsl', 'dpo'],
  /** Record an outcome (which also acknowledges an urgent flag's escalation). */
  'flags.outcome': ['monitor', 'dsl', 'dpo'],
  'flags.export': ['monitor', 'dsl', 'dpo'],
  /** Charts of flags in scope, and per-rule precision. */
  'dashboard.read': ['monitor', 'dsl', 'dpo'],
  /** Create and revoke suppressions (a DPO only for personal-data rules). */
  'suppressions.manage': ['monitor', 'dpo'],
  /** Record, end and review targeted-monitoring authorisations. */
  'authorisations.manage': ['monitor', 'dpo'],
  /** Read the messages kept under an authorisation. */
  'targeted.read': ['monitor'],
  'audit.read': ['dpo', 'auditor'],
  'retention.read': ['dpo', 'ict_admin'],
  /** Queues, failed jobs, connectors, deliveries and scan failures: counts and reasons, no content. */
  'ops.read': ['ict_admin'],
  'ops.retry': ['ict_admin'],
  'users.manage': ['ict_admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function can(reviewer: Pick<Reviewer, 'role'> | null, permission: Permission): boolean {
  return reviewer !== null && (PERMISSIONS[permission] as readonly Role[]).includes(reviewer.role);
}

export function flagScope(reviewer: Pick<Reviewer, 'role' | 'academy'>): FlagScope {
  switch (reviewer.role) {
    case 'monitor':
      return { kind: 'all' };
    case 'dsl':
      return reviewer.academy ? { kind: 'academy', academy: reviewer.academy } : { kind: 'none' };
    case 'dpo':
      return { kind: 'category_prefix', prefix: 'personal_data' };
    default:
      return { kind: 'none' };
  }
}
