/** Where to go after signing in: a path on this server only, never another site (open redirect). */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length > 2000) return '/';
  // One leading slash, then printable ASCII: `//host` and `/\host` would leave the site.
  if (!/^\/(?![/\\])[\x21-\x7e]*$/.test(value) || value.startsWith('/login') || value.startsWith('/auth/')) return '/';
  return value;
}
