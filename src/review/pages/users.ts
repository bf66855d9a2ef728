/**
 * The review UI: user administration for ict_admin. Accounts are created, changed, disabled and
 * enabled here, never deleted (the audit log and outcomes keep naming them). A new role, academy
 * email or password, or disabling, ends the account's sessions (src/flags/users.ts). An administrator
 * cannot disable their own account or change their own role: the trust would lose its way in.
 *
 * ict_admin sees no message content, and must not be able to give itself any: here it creates and
 * changes only ict_admin and auditor accounts. An account of a content role (monitor, dsl, dpo)
 * is created, given a role, academy, email or password only with `kestrel users` on the server;
 * here it can be renamed, disabled and enabled (none of which lets anyone in as it).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ROLES, type Role } from '../../flags/review-types.js';
import { UserError, type User } from '../../flags/users.js';
import { can } from '../access.js';
import { checkAccount, type AccountFields } from '../auth/accounts.js';
import { hashPassword, passwordProblem } from '../auth/password.js';
import { audit, requirePermission, reviewerOf, type ReviewDeps } from '../context.js';
import { formatDate } from '../views/format.js';
import { html, type Html } from '../views/html.js';
import { csrfField, page } from '../views/layout.js';

type Form = Record<string, unknown>;
type IdParams = { Params: { id: string } };

const DONE: Record<string, string> = {
  created: 'Account created.',
  updated: 'Account updated. If the role or email changed, its sessions have ended.',
  password: 'Password set. The account’s sessions have ended.',
  disabled: 'Account disabled. Its sessions have ended.',
  enabled: 'Account enabled.',
};

const ROLE_HELP: Record<(typeof ROLES)[number], string> = {
  monitor: 'every flag',
  dsl: 'flags of one academy',
  dpo: 'personal-data flags and the audit log',
  ict_admin: 'health, queues and users; no message content',
  auditor: 'the audit log, read only',
};

/** Roles that see message content: a page ict_admin can use must never create or open one. */
function isContentRole(role: string): boolean {
  return can({ role: role as Role }, 'flags.read');
}

const WEB_ROLES = ROLES.filter((role) => !isContentRole(role));
const CONTENT_ROLES = ROLES.filter(isContentRole).join(', ');
const CONTENT_REFUSED = `Accounts with a role that sees message content (${CONTENT_ROLES}) are created, and their role, email and password changed, only with kestrel users on the server. Here you can rename, disable or enable them.`;

function value(form: Form, name: string): string {
  const v = form[name];
  return typeof v === 'string' ? v : '';
}

function formOf(request: FastifyRequest): Form {
  return typeof request.body === 'object' && request.body !== null ? (request.body as Form) : {};
}

function signIn(user: User): string {
  const ways = [user.hasPassword ? 'password' : null, user.oidcBound ? 'trust account (bound)' : null].filter((w): w is string => w !== null);
  return ways.length > 0 ? ways.join(', ') : 'trust account (not yet used)';
}

function state(user: User, now: Date, timeZone: string): Html {
  if (user.disabledAt) return html`<span class="badge user-disabled">disabled</span>`;
  if (user.lockedUntil && user.lockedUntil > now) return html`<span class="badge user-locked">locked until ${formatDate(user.lockedUntil, timeZone)}</span>`;
  return html`<span class="badge user-active">active</span>`;
}

function roleField(current: string, disabled: boolean): Html {
  return html`<label>Role <select name="role"${disabled ? html` disabled` : ''}>${WEB_ROLES.map((role) => html`<option value="${role}"${current === role ? html` selected` : ''}>${role}: ${ROLE_HELP[role]}</option>`)}</select></label>`;
}

/** The edit fields of an account this page may change: name, email and (not one's own) role. */
function editFields(user: User, self: boolean): Html {
  return html`<label>Display name <input name="displayName" required maxlength="200" value="${user.displayName}"></label>
<label>Email <input type="email" name="email" maxlength="254" value="${user.email ?? ''}"></label>
${roleField(user.role, self)}
${self ? html`<p class="muted">You cannot change your own role: another ict_admin can.</p>` : ''}`;
}

/** A content-role account: only the name is changed here. */
function contentFields(user: User): Html {
  return html`<label>Display name <input name="displayName" required maxlength="200" value="${user.displayName}"></label>
<p class="muted">${CONTENT_REFUSED}</p>`;
}

/** What a posted field asks for, when it differs from `current` (a field not posted asks nothing). */
function differs(form: Form, name: string, current: string | null): boolean {
  return typeof form[name] === 'string' && (form[name] as string).trim().toLowerCase() !== (current ?? '').toLowerCase();
}

export function registerUsers(app: FastifyInstance, deps: ReviewDeps): void {
  const guard = { preHandler: requirePermission('users.manage') };
  const timeZone = deps.config.delivery.timeZone;
  const oidc = deps.config.review.oidc !== undefined;

  async function listPage(request: FastifyRequest, reply: FastifyReply, status: number, options: { error?: string; form?: Form; notice?: string } = {}): Promise<FastifyReply> {
    const users = await deps.store.users();
    const form = options.form ?? {};
    const now = deps.now();
    const body = html`<table class="users">
<thead><tr><th>Username</th><th>Name</th><th>Role</th><th>Academy</th><th>Email</th><th>Signs in with</th><th>State</th></tr></thead>
<tbody>${users.map(
      (u) =>
        html`<tr><td><a href="/users/${u.id}">${u.username}</a></td><td>${u.displayName}</td><td>${u.role}</td><td>${u.academy ?? ''}</td><td>${u.email ?? ''}</td><td>${signIn(u)}</td><td>${state(u, now, timeZone)}</td></tr>`,
    )}</tbody>
</table>
<h2 id="new">New account</h2>
<p class="muted">Here: ict_admin and auditor accounts. Accounts that see message content (${CONTENT_ROLES}) are created and changed on the server with <code>kestrel users</code>; here you can rename, disable and enable them.</p>
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
<form class="card user-form" method="post" action="/users">
${csrfField(request)}
<label>Username <input name="username" required maxlength="64" value="${value(form, 'username')}"></label>
<label>Display name <input name="displayName" maxlength="200" value="${value(form, 'displayName')}"></label>
<label>Email${oidc ? ' (how a trust-account sign-in finds this account)' : ''} <input type="email" name="email" maxlength="254" value="${value(form, 'email')}"></label>
${roleField(value(form, 'role') || 'auditor', false)}
<label>Password${oidc ? ' (leave empty for trust-account sign-in only)' : ''} <input type="password" name="password" autocomplete="new-password" maxlength="1024"${oidc ? '' : html` required`}></label>
<button type="submit">Create account</button>
</form>`;
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(page(request, { title: 'Users', body, section: '/users', ...(options.notice ? { notice: options.notice } : {}) }).value);
  }

  async function userPage(request: FastifyRequest, reply: FastifyReply, user: User, status: number, options: { error?: string; notice?: string } = {}): Promise<FastifyReply> {
    const self = reviewerOf(request).id === user.id;
    const content = isContentRole(user.role);
    const now = deps.now();
    const body = html`${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
<div class="grid">
<section class="card">
<h2>Account</h2>
<dl class="facts">
<dt>Username</dt><dd>${user.username}</dd>
${content ? html`<dt>Role</dt><dd>${user.role}${user.academy ? html` (${user.academy})` : ''}</dd>
<dt>Email</dt><dd>${user.email ?? 'none'}</dd>` : ''}
<dt>Signs in with</dt><dd>${signIn(user)}</dd>
<dt>State</dt><dd>${state(user, now, timeZone)}</dd>
<dt>Created</dt><dd>${formatDate(user.createdAt, timeZone)}</dd>
<dt>Changed</dt><dd>${formatDate(user.updatedAt, timeZone)}</dd>
</dl>
<form class="user-form" method="post" action="/users/${user.id}">
${csrfField(request)}
${content ? contentFields(user) : editFields(user, self)}
<button type="submit">Save</button>
</form>
</section>
<section class="card">
<h2>Password</h2>
${content
  ? html`<p class="muted">Set on the server: <code>kestrel users passwd ${user.username}</code>.</p>`
  : html`<form class="user-form" method="post" action="/users/${user.id}/password">
${csrfField(request)}
<label>New password (at least 12 characters) <input type="password" name="password" autocomplete="new-password" required maxlength="1024"></label>
<button type="submit">Set password</button>
</form>`}
<h2>Access</h2>
${self
  ? html`<p class="muted">You cannot disable your own account.</p>`
  : user.disabledAt
    ? html`<form method="post" action="/users/${user.id}/enable">${csrfField(request)}<button type="submit">Enable account</button></form>`
    : html`<form method="post" action="/users/${user.id}/disable">${csrfField(request)}<button type="submit" class="danger">Disable account</button></form>`}
</section>
</div>`;
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(page(request, { title: `User ${user.username}`, body, section: '/users', ...(options.notice ? { notice: options.notice } : {}) }).value);
  }

  /** The account named by the path, or a 404 page. */
  async function target(request: FastifyRequest<IdParams>, reply: FastifyReply): Promise<User | null> {
    const user = /^\d{1,15}$/.test(request.params.id) ? await deps.store.user(Number(request.params.id)) : null;
    if (!user) await reply.callNotFound();
    return user;
  }

  app.get<{ Querystring: { done?: string } }>('/users', guard, async (request, reply) => {
    const done = request.query.done;
    return listPage(request, reply, 200, done && DONE[done] ? { notice: DONE[done] } : {});
  });

  app.post('/users', guard, async (request, reply) => {
    const form = formOf(request);
    if (isContentRole(value(form, 'role').trim())) return listPage(request, reply, 403, { error: CONTENT_REFUSED, form });
    const checked = checkAccount(deps.config, { username: value(form, 'username'), displayName: value(form, 'displayName'), role: value(form, 'role'), academy: value(form, 'academy'), email: value(form, 'email') });
    if ('problem' in checked) return listPage(request, reply, 400, { error: checked.problem, form });
    const password = value(form, 'password');
    if (password || !oidc) {
      const problem = passwordProblem(password);
      if (problem) return listPage(request, reply, 400, { error: problem, form });
    }
    let user: User;
    try {
      user = await deps.store.createUser({ ...checked.fields, passwordHash: password ? await hashPassword(password) : null });
    } catch (error) {
      if (error instanceof UserError) return listPage(request, reply, 400, { error: error.message, form });
      throw error;
    }
    await audit(deps, request, 'user.create', `user:${user.id}`, { username: user.username, role: user.role, academy: user.academy, password: user.hasPassword });
    return reply.redirect(`/users/${user.id}?done=created`, 303);
  });

  app.get<IdParams & { Querystring: { done?: string } }>('/users/:id', guard, async (request, reply) => {
    const user = await target(request, reply);
    if (!user) return reply;
    const done = request.query.done;
    return userPage(request, reply, user, 200, done && DONE[done] ? { notice: DONE[done] } : {});
  });

  app.post<IdParams>('/users/:id', guard, async (request, reply) => {
    const user = await target(request, reply);
    if (!user) return reply;
    const form = formOf(request);
    const self = reviewerOf(request).id === user.id;
    const content = isContentRole(user.role);
    if (content && (differs(form, 'role', user.role) || differs(form, 'academy', user.academy) || differs(form, 'email', user.email))) {
      return userPage(request, reply, user, 403, { error: CONTENT_REFUSED });
    }
    // Fields not offered (one's own role, a content account's role, academy and email) are kept.
    const role = self || content ? user.role : value(form, 'role').trim();
    if (isContentRole(role) && !content) return userPage(request, reply, user, 403, { error: CONTENT_REFUSED });
    const academy = content ? (user.academy ?? '') : '';
    const email = content ? (user.email ?? '') : value(form, 'email');
    const checked = checkAccount(deps.config, { username: user.username, displayName: value(form, 'displayName'), role, academy, email });
    if ('problem' in checked) return userPage(request, reply, user, 400, { error: checked.problem });
    const fields: AccountFields = checked.fields;
    let updated: User | null;
    try {
      updated = await deps.store.updateUser(user.id, { displayName: fields.displayName, email: fields.email, role: fields.role, academy: fields.academy });
    } catch (error) {
      if (error instanceof UserError) return userPage(request, reply, user, 400, { error: error.message });
      throw error;
    }
    if (!updated) return reply.callNotFound();
    const changed = (['displayName', 'email', 'role', 'academy'] as const).filter((k) => updated[k] !== user[k]);
    if (changed.length > 0) {
      await audit(deps, request, 'user.update', `user:${user.id}`, { changed, role: updated.role, academy: updated.academy, ...(changed.includes('role') ? { fromRole: user.role } : {}) });
    }
    return reply.redirect(`/users/${user.id}?done=updated`, 303);
  });

  app.post<IdParams>('/users/:id/password', guard, async (request, reply) => {
    const user = await target(request, reply);
    if (!user) return reply;
    if (isContentRole(user.role)) return userPage(request, reply, user, 403, { error: CONTENT_REFUSED });
    const password = value(formOf(request), 'password');
    const problem = passwordProblem(password);
    if (problem) return userPage(request, reply, user, 400, { error: problem });
    await deps.store.setPassword(user.id, await hashPassword(password));
    await audit(deps, request, 'user.update', `user:${user.id}`, { changed: ['password'] });
    return reply.redirect(`/users/${user.id}?done=password`, 303);
  });

  app.post<IdParams>('/users/:id/disable', guard, async (request, reply) => {
    const user = await target(request, reply);
    if (!user) return reply;
    if (reviewerOf(request).id === user.id) return userPage(request, reply, user, 400, { error: 'You cannot disable your own account.' });
    await deps.store.setDisabled(user.id, true, deps.now());
    await audit(deps, request, 'user.disable', `user:${user.id}`, { username: user.username });
    return reply.redirect(`/users/${user.id}?done=disabled`, 303);
  });

  app.post<IdParams>('/users/:id/enable', guard, async (request, reply) => {
    const user = await target(request, reply);
    if (!user) return reply;
    await deps.store.setDisabled(user.id, false, deps.now());
    await audit(deps, request, 'user.enable', `user:${user.id}`, { username: user.username });
    return reply.redirect(`/users/${user.id}?done=enabled`, 303);
  });
}
