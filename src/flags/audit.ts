/** The append-only audit log (table audit_log; the database refuses updates and deletes). */
import type { AuditLog } from './review-types.js';
import type { SqlClient } from './sql.js';

export function createAuditLog(_client: SqlClient): AuditLog {
  const pending = (): never => {
    throw new Error('audit log: not built yet');
  };
  return { appendAudit: async () => pending(), auditEntries: async () => pending() };
}
