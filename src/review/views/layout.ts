/**
 * The page shell every review page shares: navigation for what the reviewer's role may open, the
 * sign-out form, and one stylesheet. No scripts at all: the server's Content-Security-Policy
 * forbids them, so nothing a message carries could run here.
 */
import type { FastifyRequest } from 'fastify';
import { can, type Permission } from '../access.js';
import { html, type Html, type HtmlValue } from './html.js';

export const STYLESHEET_PATH = '/assets/kestrel.css';

const NAV: ReadonlyArray<{ href: string; label: string; permission: Permission }> = [
  { href: '/flags', label: 'Flags', permission: 'flags.read' },
  { href: '/dashboard', label: 'Dashboard', permission: 'dashboard.read' },
  { href: '/precision', label: 'Rule precision', permission: 'dashboard.read' },
  { href: '/suppressions', label: 'Suppressions', permission: 'suppressions.manage' },
  { href: '/authorisations', label: 'Targeted monitoring', permission: 'authorisations.manage' },
  { href: '/audit', label: 'Audit log', permission: 'audit.read' },
  { href: '/retention', label: 'Retention', permission: 'retention.read' },
  { href: '/ops', label: 'Operations', permission: 'ops.read' },
  { href: '/users', label: 'Users', permission: 'users.manage' },
];

/** A hidden field with the session's CSRF token: every form that POSTs carries one. */
export function csrfField(request: FastifyRequest): Html {
  return html`<input type="hidden" name="_csrf" value="${request.csrfToken ?? ''}">`;
}

export interface PageOptions {
  title: string;
  body: HtmlValue;
  /** A one-line notice above the body (after a redirect: "Outcome recorded"). */
  notice?: string;
  /** Marks the current section in the navigation. */
  section?: string;
}

export function page(request: FastifyRequest, options: PageOptions): Html {
  const reviewer = request.reviewer;
  const links = reviewer ? NAV.filter((item) => can(reviewer, item.permission)) : [];
  return html`<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · Kestrel</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<header class="top">
  <a class="brand" href="/">Kestrel</a>
  <nav>${links.map((item) => html`<a href="${item.href}"${options.section === item.href ? html` aria-current="page"` : ''}>${item.label}</a>`)}</nav>
  ${reviewer
    ? html`<form class="signout" method="post" action="/logout">${csrfField(request)}<span class="who">${reviewer.displayName} · ${reviewer.role}${reviewer.academy ? html` · ${reviewer.academy}` : ''}</span><button type="submit">Sign out</button></form>`
    : ''}
</header>
<main>
${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
<h1>${options.title}</h1>
${options.body}
</main>
</body>
</html>`;
}

export function errorPage(request: FastifyRequest, status: number, title: string, message: string): Html {
  return page(request, { title, body: html`<p class="error" data-status="${status}">${message}</p>` });
}
