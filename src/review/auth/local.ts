/**
 * Sign-in with a local password. Every attempt costs one scrypt (about 330 ms), whether or not
 * the account exists, so timing does not reveal usernames. Only a real account's wrong password
 * also counts the failure (one small transaction, a few ms beside the scrypt) and a right one
 * may store the hash again at the current cost: differences lost in the scrypt's own jitter.
 * Five failures in a row lock the account for fifteen minutes (the per-address rate limit on
 * POST /login is the server's, see server.ts).
 */
import type { LockoutPolicy, User, UserStore } from '../../flags/users.js';
import { hashPassword, needsRehash, verifyDecoy, verifyPassword } from './password.js';

export const LOCKOUT: LockoutPolicy = { maxFailures: 5, lockMs: 15 * 60_000 };

/** Why a sign-in failed: for the audit log only; the person signing in is told none of it. */
export type LoginFailure = 'unknown_user' | 'disabled' | 'no_password' | 'locked' | 'wrong_password';

export type LoginResult = { ok: true; user: User } | { ok: false; reason: LoginFailure; user: User | null; lockedUntil?: Date };

export async function checkPassword(store: UserStore, username: string, password: string, now: Date, policy: LockoutPolicy = LOCKOUT): Promise<LoginResult> {
  const record = username ? await store.loginRecord(username) : null;
  if (!record) {
    await verifyDecoy(password);
    return { ok: false, reason: 'unknown_user', user: null };
  }
  const { user, passwordHash } = record;
  if (user.disabledAt || passwordHash === null) {
    await verifyDecoy(password);
    return { ok: false, reason: user.disabledAt ? 'disabled' : 'no_password', user };
  }
  // The hash is checked even while locked, so a locked account answers as slowly as any other.
  const correct = await verifyPassword(password, passwordHash);
  if (user.lockedUntil && user.lockedUntil > now) return { ok: false, reason: 'locked', user, lockedUntil: user.lockedUntil };
  if (!correct) {
    const lockedUntil = await store.recordLoginFailure(user.id, now, policy);
    return { ok: false, reason: 'wrong_password', user, ...(lockedUntil ? { lockedUntil } : {}) };
  }
  await store.recordLoginSuccess(user.id);
  if (needsRehash(passwordHash)) await store.rehashPassword(user.id, passwordHash, await hashPassword(password));
  return { ok: true, user };
}
