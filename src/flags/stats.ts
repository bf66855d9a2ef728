/** Counts for the dashboard: flags by category, academy and week, within a reviewer's scope. */
import type { SqlClient } from './sql.js';

export interface StatsStore {}

export function createStatsStore(_client: SqlClient): StatsStore {
  return {};
}
