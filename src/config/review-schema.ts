/** Config for the review UI (`kestrel review`, and `kestrel run` in embedded mode). */
import { isIP } from 'node:net';
import * as z from 'zod';
import { LOOPBACK, nonEmpty, secretSchema } from './operations-schema.js';

/** The host of a URL, without IPv6 brackets (URL keeps them). */
const hostOf = (url: string): string => new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');

/** An address or a CIDR block (10.0.0.0/8, fd00::/8): the prefix fits the address family. */
function isAddressOrBlock(value: string): boolean {
  const [address = '', prefix, ...more] = value.split('/');
  const family = isIP(address);
  if (family === 0 || more.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** Whether a `host:port` listen address is on loopback: only this machine (a proxy on it) can connect. */
export function listensOnLoopback(listen: string): boolean {
  return LOOPBACK.has(listen.slice(0, listen.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1'));
}

/** Why a hop count needs a loopback listen (also the server's refusal, should it be started elsewhere). */
export const HOP_COUNT_NEEDS_LOOPBACK =
  'a number of proxies is trusted only when listen is on loopback (the proxy on this machine): elsewhere a client that connects directly could write its own address, protocol and host; give the proxies\' addresses or CIDR blocks instead';

const proxyAddress = z.string().refine(isAddressOrBlock, { error: 'expected an IP address or CIDR block, e.g. 10.0.0.5 or 10.0.0.0/8' });

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const oidcSchema = z
  .strictObject({
    /** The issuer's URL, e.g. https://login.microsoftonline.com/<tenant>/v2.0 or https://accounts.google.com. */
    issuer: httpUrl,
    clientId: nonEmpty,
    clientSecret: secretSchema,
    /** The sign-in button's text. */
    label: nonEmpty.default('Sign in with your trust account'),
    /**
     * The ID token claim holding the address that matches a Kestrel account's email. `email` must
     * come with `email_verified: true`; name another claim (Entra: `preferred_username`) only for
     * a single-tenant issuer that the trust administers.
     */
    emailClaim: nonEmpty.default('email'),
  })
  .refine((o) => o.issuer.startsWith('https:') || LOOPBACK.has(hostOf(o.issuer)), { error: 'the issuer must use https (http only on loopback, for tests)', path: ['issuer'] });

export const reviewSchema = z
  .strictObject({
    /** host:port the UI listens on; false: `kestrel run` serves no UI. Loopback by default: put a TLS proxy in front, or set tls. */
    listen: z.union([z.literal(false), z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: 'expected host:port, e.g. 127.0.0.1:8025' })]).default('127.0.0.1:8025'),
    /**
     * The address reviewers open, when it is not http://<listen> (a TLS proxy in front): used for
     * the OIDC redirect, the sign-in form's origin check, and the Secure flag of the session cookie.
     */
    publicUrl: httpUrl.transform((url) => url.replace(/\/+$/, '')).optional(),
    /** Serve HTTPS directly: PEM files, absolute once loaded. */
    tls: z.strictObject({ cert: nonEmpty, key: nonEmpty }).optional(),
    /**
     * Behind a reverse proxy, where the client's address (for the sign-in rate limit and the
     * audit log) comes from X-Forwarded-For. The client writes the start of that header, so only
     * the proxies' own entries count: false (not behind a proxy), the proxies' addresses or CIDR
     * blocks (safest), or the number of proxies in front (1: the address the one proxy appended).
     * A number is accepted only with a loopback listen, the proxy on this machine: on any other
     * address a client could connect directly and write its own X-Forwarded-For, -Proto and -Host.
     * `true` (trust every entry) is refused: anyone could then pick their address and dodge the limit.
     */
    trustProxy: z
      .union([z.literal(false), z.number().int().min(1).max(10), z.array(proxyAddress).min(1)], {
        error: 'expected false, the number of proxies in front (1 for one; only with a loopback listen), or a list of their addresses or CIDR blocks; true would trust any address a client writes',
      })
      .default(false),
    /** A session ends after this long without a request. */
    sessionIdleMinutes: z.number().int().min(5).max(24 * 60).default(30),
    /** And this long after sign-in, however busy. */
    sessionMaxHours: z.number().int().min(1).max(24 * 7).default(12),
    /** Sign-in with the trust's identity provider (Microsoft Entra, Google), beside local passwords. */
    oidc: oidcSchema.optional(),
  })
  .refine((r) => r.listen === false || r.tls !== undefined || r.publicUrl?.startsWith('https:') || listensOnLoopback(r.listen), {
    error: 'the review UI would serve passwords and sessions in clear beyond this machine: set tls, or a https publicUrl for the TLS proxy in front of it, or listen on loopback',
    path: ['listen'],
  })
  .refine((r) => typeof r.trustProxy !== 'number' || (r.listen !== false && listensOnLoopback(r.listen)), {
    error: HOP_COUNT_NEEDS_LOOPBACK,
    path: ['trustProxy'],
  });

export type ReviewConfig = z.output<typeof reviewSchema>;
