/**
 * Config for delivering copies of flagged mail (clause 7.2.1 of 003_c7be022a1d032c68.txt): the
 * sender, the SMTP relay or the IMAP mailboxes copies are appended to, retries, escalation of
 * unacknowledged urgent flags, and the daily digest. Who receives what is in `routes`.
 */
import addressparser from 'nodemailer/lib/addressparser';
import * as z from 'zod';
import { LOOPBACK, nonEmpty, oauth2Schema, secretSchema } from './operations-schema.js';

/** The one address in delivery.from (`Kestrel <kestrel@trust.sch.uk>` or bare), lower case; undefined when it is not exactly one. */
export function senderAddressOf(from: string): string | undefined {
  const parsed = addressparser(from, { flatten: true });
  const address = parsed.length === 1 ? parsed[0]!.address?.toLowerCase() : undefined;
  return address?.includes('@') ? address : undefined;
}

/** One mail address, lower case: recipients of copies, leaders' own addresses. */
export const emailAddress = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ error: (issue) => `expected an address like head@example.org, got ${JSON.stringify(issue.input)}` }));

const TLS_MODES = ['implicit', 'starttls', 'none'] as const;

const smtpSchema = z
  .strictObject({
    host: nonEmpty,
    /** Default by `tls`: 465 implicit, 587 starttls, 25 none. */
    port: z.number().int().min(1).max(65535).optional(),
    /** starttls (the default) refuses a relay that does not offer STARTTLS; none: loopback relays only. */
    tls: z.enum(TLS_MODES).default('starttls'),
    /** Extra CA certificate (PEM file, absolute once loaded) for the trust's own relay. */
    ca: nonEmpty.optional(),
    user: nonEmpty.optional(),
    password: secretSchema.optional(),
    /** Pooled connections kept open to the relay. */
    maxConnections: z.number().int().min(1).max(20).default(3),
    /** A relay silent this long fails the attempt (after the message was sent, the outcome is uncertain). */
    timeoutSeconds: z.number().int().min(1).default(60),
  })
  .refine((s) => (s.user === undefined) === (s.password === undefined), { error: 'give both user and password, or neither', path: ['password'] })
  .refine((s) => s.tls !== 'none' || LOOPBACK.has(s.host), { error: 'none is allowed only for a loopback host (copies would cross the network in clear)', path: ['tls'] });
export type SmtpConfig = z.output<typeof smtpSchema>;

/** A recipient whose copies are appended to a folder of their mailbox instead of being sent. */
const imapDestinationSchema = z
  .strictObject({
    address: emailAddress,
    host: nonEmpty,
    port: z.number().int().min(1).max(65535).optional(),
    tls: z.enum(TLS_MODES).default('implicit'),
    ca: nonEmpty.optional(),
    user: nonEmpty,
    password: secretSchema.optional(),
    oauth2: oauth2Schema.optional(),
    /** Created when missing. */
    folder: nonEmpty.default('Kestrel'),
  })
  .refine((d) => (d.password === undefined) !== (d.oauth2 === undefined), { error: 'give exactly one of password or oauth2', path: ['password'] })
  .refine((d) => d.tls !== 'none' || LOOPBACK.has(d.host), { error: 'none is allowed only for a loopback host (copies would cross the network in clear)', path: ['tls'] });
export type ImapDestination = z.output<typeof imapDestinationSchema>;

const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const deliverySchema = z
  .strictObject({
    /** The copies' From: a trust address (`Kestrel <kestrel@trust.sch.uk>`). Required when any route sends copies. */
    from: nonEmpty.optional(),
    /** Where the review UI is reached; each copy links to `<reviewUrl>/flags/<id>`. Required with `from`. */
    reviewUrl: z
      .url({ protocol: /^https?$/, error: 'expected an http(s) URL like https://kestrel.trust.sch.uk' })
      .refine((url) => !/[?#]/.test(url), { error: 'expected the review UI address without a query or fragment: flag paths are added to it' })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    smtp: smtpSchema.optional(),
    imap: z.array(imapDestinationSchema).default(() => []),
    /** Attempts per copy on temporary failures before it is recorded as failed. */
    attempts: z.number().int().min(1).default(10),
    /** First retry delay, doubled each time up to `maxBackoffSeconds`. */
    backoffSeconds: z.number().int().min(1).default(60),
    maxBackoffSeconds: z.number().int().min(1).default(3_600),
    /**
     * When a relay may have accepted a copy but did not say so (a timeout after the message was
     * sent, a copier that died mid-send), Kestrel waits this long for the copy to show up in a
     * watched mailbox before sending it again (with the same Message-ID, which Exchange and Gmail
     * de-duplicate).
     */
    uncertainResendMinutes: z.number().min(0).default(15),
    /**
     * A new flag's copies wait this long, so that the same message arriving in other mailboxes
     * (a class, a staff list) is listed in the copy rather than only on the flag's page.
     */
    settleSeconds: z.number().min(0).default(20),
    /** How often copiers look for copies due (retries, escalations, digests, any not handed over). */
    sweepSeconds: z.number().gt(0).default(15),
    /** Urgent flags nobody acknowledges within `afterMinutes` go to the next address in `to`, in order. */
    escalation: z
      .strictObject({
        afterMinutes: z.number().gt(0).default(30),
        to: z.array(emailAddress).default(() => []),
      })
      .prefault({}),
    /** The trust's time zone: dates in copies and digests, and the digest's time of day. */
    timeZone: z.string().refine(isTimeZone, { error: 'expected an IANA time zone like Europe/London' }).default('Europe/London'),
    /** When the daily digest goes out (in `timeZone`), for routes with `copy: digest`. */
    digest: z
      .strictObject({
        at: z.string().regex(TIME_OF_DAY, { error: 'expected a time of day like 07:00' }).default('07:00'),
      })
      .prefault({}),
  })
  .superRefine((delivery, ctx) => {
    if (delivery.maxBackoffSeconds < delivery.backoffSeconds) {
      ctx.addIssue({ code: 'custom', message: `must be at least backoffSeconds (${delivery.backoffSeconds})`, path: ['maxBackoffSeconds'] });
    }
    if (delivery.from !== undefined && delivery.reviewUrl === undefined) {
      ctx.addIssue({ code: 'custom', message: 'set the address of the review UI: every copy links to its flag there', path: ['reviewUrl'] });
    }
    const seen = new Set<string>();
    delivery.imap.forEach((destination, index) => {
      if (seen.has(destination.address)) ctx.addIssue({ code: 'custom', message: `${destination.address} is listed twice`, path: ['imap', index, 'address'] });
      seen.add(destination.address);
    });
  });
export type DeliveryConfig = z.output<typeof deliverySchema>;

/** What a route's recipients get: the copy with the original, a copy without it, a daily digest, or nothing (recorded for review only). */
export const COPY_FORMS = ['full', 'minimised', 'digest', 'none'] as const;
export type CopyForm = (typeof COPY_FORMS)[number];
