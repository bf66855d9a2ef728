/** Reviewers' suppressions (table suppressions): false positives fed back into scanning. */
import type { Reviewer, Suppression, SuppressionInput } from './review-types.js';
import type { SqlClient } from './sql.js';

export interface SuppressionStore {
  createSuppression(input: SuppressionInput, by: Reviewer): Promise<Suppression>;
  /** False when it was already revoked or does not exist. */
  revokeSuppression(id: number, by: Reviewer): Promise<boolean>;
  /** Newest first; expired and revoked ones too when asked. */
  suppressions(options: { includeInactive: boolean }): Promise<Suppression[]>;
}

export function createSuppressionStore(_client: SqlClient): SuppressionStore {
  const pending = (): never => {
    throw new Error('suppressions: not built yet');
  };
  return { createSuppression: async () => pending(), revokeSuppression: async () => pending(), suppressions: async () => pending() };
}
