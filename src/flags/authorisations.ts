/** Targeted-monitoring authorisations and the messages kept under them (tables authorisations, retained_messages). */
import type { SqlClient } from './sql.js';

export interface AuthorisationStore {}

export function createAuthorisationStore(_client: SqlClient): AuthorisationStore {
  return {};
}
