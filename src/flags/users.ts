/** Reviewers' accounts and sessions (tables users, sessions). */
import type { SqlClient } from './sql.js';

export interface UserStore {}

export function createUserStore(_client: SqlClient): UserStore {
  return {};
}
