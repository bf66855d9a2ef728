/** The append-only audit log (table audit_log; the database refuses updates and deletes). */
import type { AuditEntry, AuditLog, AuditQuery, Role } from './review-types.js';
import { toNumber, type SqlClient } from './sql.js';

/** More rows than this in one page would make the audit page a bulk export. */
const MAX_PAGE = 200;

/** An audit_log row as the drivers return it. */
export type AuditRow = {
  id: unknown;
  at: Date;
  actor_id: unknown;
  actor: string;
  role: Role | null;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  ip: string | null;
};

export function entryFrom(row: AuditRow): AuditEntry {
  return {
    id: toNumber(row.id),
    at: row.at,
    actorId: row.actor_id === null ? null : toNumber(row.actor_id),
    actor: row.actor,
    role: row.role,
    action: row.action,
    target: row.target,
    details: row.details,
    ip: row.ip,
  };
}

/**
 * PostgreSQL refuses NUL in jsonb strings, and details can carry what a reviewer typed into a
 * filter: it becomes U+FFFD rather than losing the audit row.
 */
function detailsJson(details: Record<string, unknown>): string {
  return JSON.stringify(details, (_key, value: unknown) => (typeof value === 'string' ? value.replaceAll('\u0000', '\uFFFD') : value));
}

/** The WHERE clause and its parameters for a query; every condition is optional. */
function where(query: AuditQuery): { clause: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown): void => {
    params.push(value);
    conditions.push(sql.replace('?', `$${params.length}`));
  };
  if (query.actorId !== undefined) add('actor_id = ?', query.actorId);
  if (query.actor !== undefined) add('actor = ?', query.actor);
  if (query.action !== undefined) add('action = ?', query.action);
  if (query.target !== undefined) add('target = ?', query.target);
  if (query.since !== undefined) add('at >= ?', query.since);
  if (query.until !== undefined) add('at < ?', query.until);
  return { clause: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', params };
}

export function createAuditLog(client: SqlClient): AuditLog {
  return {
    async appendAudit(entry) {
      if (entry.actor.length === 0) throw new Error('audit entry: actor is empty');
      if (!/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/.test(entry.action)) throw new Error(`audit entry: action "${entry.action}" is not a dotted verb`);
      const { rows } = await client.query<AuditRow>(
        `INSERT INTO audit_log (actor_id, actor, role, action, target, details, ip)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
         RETURNING *`,
        [entry.actorId, entry.actor, entry.role, entry.action, entry.target, detailsJson(entry.details), entry.ip],
      );
      return entryFrom(rows[0]!);
    },

    async auditEntries(query, page) {
      if (!Number.isSafeInteger(page.offset) || page.offset < 0) throw new Error(`audit page: offset ${page.offset} is not a whole number from 0`);
      if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > MAX_PAGE) throw new Error(`audit page: limit ${page.limit} is not between 1 and ${MAX_PAGE}`);
      const { clause, params } = where(query);
      const total = await client.query<{ count: unknown }>(`SELECT count(*) AS count FROM audit_log ${clause}`, params);
      // id breaks ties between rows written in the same microsecond, so pages never overlap.
      const { rows } = await client.query<AuditRow>(
        `SELECT * FROM audit_log ${clause} ORDER BY at DESC, id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, page.limit, page.offset],
      );
      return { items: rows.map(entryFrom), total: toNumber(total.rows[0]?.count) };
    },
  };
}
