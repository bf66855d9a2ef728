/**
 * Reviewers' accounts and sessions (tables users, sessions). Accounts are disabled, never deleted:
 * the audit log and outcomes keep naming them. A session row holds the SHA-256 of its cookie's
 * token, never the token. Whatever changes what an account may see or who may sign in as it
 * (disabling it, a new role, academy, password or email) ends its sessions in the same transaction.
 */
import type { Reviewer, Role } from './review-types.js';
import { toNumber, type Queryable, type SqlClient } from './sql.js';

export interface User extends Reviewer {
  /** Lower case; how an OIDC sign-in finds the account the first time. */
  email: string | null;
  /** False for an account that signs in with OIDC only. */
  hasPassword: boolean;
  /** An OIDC identity (issuer and subject) is bound to the account. */
  oidcBound: boolean;
  failedLogins: number;
  lockedUntil: Date | null;
  disabledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  /** Required for a dsl, refused for every other role. */
  academy?: string | null;
  email?: string | null;
  /** From hashPassword (src/review/auth/password.ts); null or absent: OIDC sign-in only. */
  passwordHash?: string | null;
}

export interface UserChanges {
  displayName?: string;
  role?: Role;
  academy?: string | null;
  email?: string | null;
}

/** What a password sign-in checks: the account and its stored hash. */
export interface LoginRecord {
  user: User;
  passwordHash: string | null;
}

export interface SessionRecord {
  reviewer: Reviewer;
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

export interface NewSession {
  idHash: string;
  userId: number;
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
}

/** A username or email already taken, a dsl without an academy: the message names the field. */
export class UserError extends Error {
  constructor(
    readonly field: 'username' | 'email' | 'academy' | 'role' | 'displayName',
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export interface LockoutPolicy {
  /** Consecutive failures that lock the account. */
  maxFailures: number;
  lockMs: number;
}

export interface UserStore {
  /** Throws UserError when the username or email is taken or the academy does not fit the role. */
  createUser(input: NewUser): Promise<User>;
  /** Every account, by username. */
  users(): Promise<User[]>;
  user(id: number): Promise<User | null>;
  userByUsername(username: string): Promise<User | null>;
  userByEmail(email: string): Promise<User | null>;
  userByOidcSubject(subject: string): Promise<User | null>;
  loginRecord(username: string): Promise<LoginRecord | null>;
  /**
   * Null when there is no such account. A change of role or academy ends the account's sessions;
   * a change of email also unbinds its OIDC identity, so the next trust-account sign-in must
   * come from the new address.
   */
  updateUser(id: number, changes: UserChanges): Promise<User | null>;
  /** Sets (or with null removes) the password, clears any lockout and ends the account's sessions. */
  setPassword(id: number, passwordHash: string | null): Promise<boolean>;
  /**
   * The same password hashed at a new cost, after a sign-in proved it: only while the stored hash
   * is still `from` (a password set meanwhile wins). Sessions and lockout are left alone.
   */
  rehashPassword(id: number, from: string, to: string): Promise<boolean>;
  /**
   * Disabling ends the account's sessions. Enabling leaves any lockout to run out: an ICT admin may
   * enable a content account but must not be able to reset its lockout by disabling it first.
   */
  setDisabled(id: number, disabled: boolean, at: Date): Promise<boolean>;
  /** Binds an OIDC identity to an account that has none yet; false when it already has one. */
  bindOidcSubject(id: number, subject: string): Promise<boolean>;
  /** Counts a failed password; the account locks at `maxFailures` in a row. Returns the lock, if any. */
  recordLoginFailure(id: number, at: Date, policy: LockoutPolicy): Promise<Date | null>;
  recordLoginSuccess(id: number): Promise<void>;

  createSession(session: NewSession): Promise<void>;
  /** The live session with this token hash, of an enabled account; null when unknown, expired or disabled. */
  session(idHash: string, at: Date): Promise<SessionRecord | null>;
  touchSession(idHash: string, lastSeenAt: Date, expiresAt: Date): Promise<void>;
  deleteSession(idHash: string): Promise<void>;
  /** Returns how many ended. */
  deleteSessionsOf(userId: number): Promise<number>;
  /** Sessions past their expiry, for the retention purge. Returns how many went. */
  deleteExpiredSessions(at: Date): Promise<number>;
}

type UserRow = {
  id: unknown;
  username: string;
  display_name: string;
  email: string | null;
  role: Role;
  academy: string | null;
  password_hash: string | null;
  oidc_subject: string | null;
  failed_logins: number;
  locked_until: Date | null;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

function userFrom(row: UserRow): User {
  return {
    id: toNumber(row.id),
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    academy: row.academy,
    email: row.email,
    hasPassword: row.password_hash !== null,
    oidcBound: row.oidc_subject !== null,
    failedLogins: row.failed_logins,
    lockedUntil: row.locked_until,
    disabledAt: row.disabled_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function checkAcademy(role: Role, academy: string | null | undefined): void {
  if (role === 'dsl' && !academy) throw new UserError('academy', 'academy: a dsl needs the academy whose flags they see');
  if (role !== 'dsl' && academy) throw new UserError('academy', `academy: only a dsl has an academy, not a ${role}`);
}

/** Turns the database's unique-constraint errors into the field the user must change. */
function uniqueViolation(error: unknown, username: string, email: string | null | undefined): never {
  const { code, constraint } = error as { code?: string; constraint?: string };
  const message = (error as Error).message ?? '';
  if (code === '23505') {
    if ((constraint ?? message).includes('email')) throw new UserError('email', `email: ${email ?? ''} already belongs to another account`);
    throw new UserError('username', `username: ${username} is taken`);
  }
  throw error;
}

async function endSessions(tx: Queryable, userId: number): Promise<number> {
  return (await tx.query('DELETE FROM sessions WHERE user_id = $1', [userId])).rowCount;
}

export function createUserStore(client: SqlClient): UserStore {
  async function one(where: string, value: unknown): Promise<User | null> {
    const { rows } = await client.query<UserRow>(`SELECT * FROM users WHERE ${where} = $1`, [value]);
    return rows[0] ? userFrom(rows[0]) : null;
  }

  return {
    async createUser(input) {
      const username = input.username.trim().toLowerCase();
      const email = input.email ? input.email.trim().toLowerCase() : null;
      if (!username) throw new UserError('username', 'username: required');
      if (!input.displayName.trim()) throw new UserError('displayName', 'displayName: required');
      checkAcademy(input.role, input.academy);
      try {
        const { rows } = await client.query<UserRow>(
          `INSERT INTO users (username, display_name, email, role, academy, password_hash)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
          [username, input.displayName.trim(), email, input.role, input.role === 'dsl' ? input.academy : null, input.passwordHash ?? null],
        );
        return userFrom(rows[0]!);
      } catch (error) {
        return uniqueViolation(error, username, email);
      }
    },

    async users() {
      const { rows } = await client.query<UserRow>('SELECT * FROM users ORDER BY username');
      return rows.map(userFrom);
    },

    user: (id) => one('id', id),
    userByUsername: (username) => one('username', username.trim().toLowerCase()),
    userByEmail: (email) => one('email', email.trim().toLowerCase()),
    userByOidcSubject: (subject) => one('oidc_subject', subject),

    async loginRecord(username) {
      const { rows } = await client.query<UserRow>('SELECT * FROM users WHERE username = $1', [username.trim().toLowerCase()]);
      return rows[0] ? { user: userFrom(rows[0]), passwordHash: rows[0].password_hash } : null;
    },

    async updateUser(id, changes) {
      return client.transaction(async (tx) => {
        const { rows } = await tx.query<UserRow>('SELECT * FROM users WHERE id = $1 FOR UPDATE', [id]);
        if (!rows[0]) return null;
        const current = userFrom(rows[0]);
        const role = changes.role ?? current.role;
        // A role other than dsl drops the academy unless one is given (which checkAcademy refuses).
        const academy = changes.academy !== undefined ? changes.academy || null : role === 'dsl' ? current.academy : null;
        const email = changes.email !== undefined ? (changes.email ? changes.email.trim().toLowerCase() : null) : current.email;
        const displayName = changes.displayName?.trim() ?? current.displayName;
        if (!displayName) throw new UserError('displayName', 'displayName: required');
        checkAcademy(role, academy);
        const newEmail = email !== current.email;
        let updated: UserRow;
        try {
          updated = (
            await tx.query<UserRow>(
              `UPDATE users SET display_name = $2, email = $3, role = $4, academy = $5, updated_at = now()${newEmail ? ', oidc_subject = NULL' : ''} WHERE id = $1 RETURNING *`,
              [id, displayName, email, role, academy],
            )
          ).rows[0]!;
        } catch (error) {
          return uniqueViolation(error, current.username, email);
        }
        if (newEmail || role !== current.role || academy !== current.academy) await endSessions(tx, id);
        return userFrom(updated);
      });
    },

    async setPassword(id, passwordHash) {
      return client.transaction(async (tx) => {
        const { rowCount } = await tx.query('UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL, updated_at = now() WHERE id = $1', [id, passwordHash]);
        if (rowCount === 0) return false;
        await endSessions(tx, id);
        return true;
      });
    },

    async rehashPassword(id, from, to) {
      return (await client.query('UPDATE users SET password_hash = $3, updated_at = now() WHERE id = $1 AND password_hash = $2', [id, from, to])).rowCount > 0;
    },

    async setDisabled(id, disabled, at) {
      return client.transaction(async (tx) => {
        const { rowCount } = disabled
          ? await tx.query('UPDATE users SET disabled_at = COALESCE(disabled_at, $2), updated_at = now() WHERE id = $1', [id, at])
          : await tx.query('UPDATE users SET disabled_at = NULL, updated_at = now() WHERE id = $1', [id]);
        if (rowCount === 0) return false;
        if (disabled) await endSessions(tx, id);
        return true;
      });
    },

    async bindOidcSubject(id, subject) {
      const { rowCount } = await client.query('UPDATE users SET oidc_subject = $2, updated_at = now() WHERE id = $1 AND oidc_subject IS NULL', [id, subject]);
      return rowCount > 0;
    },

    async recordLoginFailure(id, at, policy) {
      return client.transaction(async (tx) => {
        const { rows } = await tx.query<{ failed_logins: number; locked_until: Date | null }>('SELECT failed_logins, locked_until FROM users WHERE id = $1 FOR UPDATE', [id]);
        const row = rows[0];
        if (!row) return null;
        // A failure while locked neither counts nor extends the lock; one after it expired starts a new count.
        if (row.locked_until && row.locked_until > at) return row.locked_until;
        const failures = (row.locked_until ? 0 : row.failed_logins) + 1;
        const lockedUntil = failures >= policy.maxFailures ? new Date(at.getTime() + policy.lockMs) : null;
        await tx.query('UPDATE users SET failed_logins = $2, locked_until = $3 WHERE id = $1', [id, lockedUntil ? 0 : failures, lockedUntil]);
        return lockedUntil;
      });
    },

    async recordLoginSuccess(id) {
      await client.query('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND (failed_logins <> 0 OR locked_until IS NOT NULL)', [id]);
    },

    async createSession(session) {
      await client.query('INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)', [
        session.idHash,
        session.userId,
        session.csrfToken,
        session.createdAt,
        session.expiresAt,
      ]);
    },

    async session(idHash, at) {
      const { rows } = await client.query<UserRow & { csrf_token: string; session_created_at: Date; last_seen_at: Date; expires_at: Date }>(
        `SELECT u.*, s.csrf_token, s.created_at AS session_created_at, s.last_seen_at, s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL`,
        [idHash, at],
      );
      const row = rows[0];
      if (!row) return null;
      const { id, username, displayName, role, academy } = userFrom(row);
      return { reviewer: { id, username, displayName, role, academy }, csrfToken: row.csrf_token, createdAt: row.session_created_at, lastSeenAt: row.last_seen_at, expiresAt: row.expires_at };
    },

    async touchSession(idHash, lastSeenAt, expiresAt) {
      await client.query('UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1', [idHash, lastSeenAt, expiresAt]);
    },

    async deleteSession(idHash) {
      await client.query('DELETE FROM sessions WHERE id_hash = $1', [idHash]);
    },

    deleteSessionsOf: (userId) => endSessions(client, userId),

    async deleteExpiredSessions(at) {
      return (await client.query('DELETE FROM sessions WHERE expires_at <= $1', [at])).rowCount;
    },
  };
}
