/**
 * The rules for an account's fields, shared by the users page and `kestrel users`: what a
 * username looks like, that a role exists, and that a DSL's academy is one of trust.academies.
 * Problems come back as text naming the field, for a form or the command line.
 */
import type { KestrelConfig } from '../../config/schema.js';
import { ROLES, type Role } from '../../flags/review-types.js';

const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
const EMAIL = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;]+$/;

export interface AccountFields {
  username: string;
  displayName: string;
  role: Role;
  academy: string | null;
  email: string | null;
}

export interface AccountInput {
  username?: string;
  displayName?: string;
  role?: string;
  academy?: string;
  email?: string;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function academyNames(config: KestrelConfig): string[] {
  return config.trust.academies.map((a) => a.name);
}

/** The account's fields, normalised, or the first problem. `displayName` defaults to the username. */
export function checkAccount(config: KestrelConfig, input: AccountInput): { fields: AccountFields } | { problem: string } {
  const username = (input.username ?? '').trim().toLowerCase();
  if (!USERNAME.test(username)) return { problem: 'username: 1 to 64 letters, digits and . _ @ -, starting with a letter or digit' };
  const role = (input.role ?? '').trim();
  if (!isRole(role)) return { problem: `role: one of ${ROLES.join(', ')}` };
  const academy = (input.academy ?? '').trim();
  if (role === 'dsl') {
    const names = academyNames(config);
    if (!academy) return { problem: 'academy: a dsl needs the academy whose flags they see' };
    if (!names.includes(academy)) return { problem: names.length === 0 ? `academy: "${academy}" is not in trust.academies, which is empty: add the academies to kestrel.yaml first` : `academy: "${academy}" is not one of trust.academies (${names.join(', ')})` };
  }
  const email = (input.email ?? '').trim().toLowerCase();
  if (email && !EMAIL.test(email)) return { problem: `email: "${email}" is not an email address` };
  const displayName = (input.displayName ?? '').trim() || username;
  if (displayName.length > 200) return { problem: 'displayName: at most 200 characters' };
  return { fields: { username, displayName, role, academy: role === 'dsl' ? academy : null, email: email || null } };
}
