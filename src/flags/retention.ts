/** The retention purge: expired flags, evidence, kept messages, sessions and audit rows. */
import type { SqlClient } from './sql.js';

export interface RetentionStore {}

export function createRetentionStore(_client: SqlClient): RetentionStore {
  return {};
}
