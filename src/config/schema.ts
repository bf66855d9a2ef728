/**
 * The shape of kestrel.yaml. Every key is optional; objects are strict so that a typo such as
 * `domians` is an error rather than a silently ignored setting in a safeguarding tool.
 */
import * as z from 'zod';
import { SEVERITIES } from '../scan/types.js';
import { domainOf, isUnderDomain } from '../directory/domains.js';
import { addressPatternProblem } from '../directory/patterns.js';
import { operationsSchema } from './operations-schema.js';
import { COPY_FORMS, deliverySchema, emailAddress, senderAddressOf } from './delivery-schema.js';
import { retentionSchema } from './retention-schema.js';
import { reviewSchema } from './review-schema.js';

export const BUILTIN_PERSONAL_DOMAINS: readonly string[] = [
  'gmail.com',
  'googlemail.com',
  'outlook.com',
  'hotmail.com',
  'hotmail.co.uk',
  'live.com',
  'live.co.uk',
  'msn.com',
  'yahoo.com',
  'yahoo.co.uk',
  'icloud.com',
  'me.com',
  'mac.com',
  'aol.com',
  'btinternet.com',
  'sky.com',
  'virginmedia.com',
  'talktalk.net',
  'protonmail.com',
  'proton.me',
  'gmx.com',
  'gmx.co.uk',
  'mail.com',
  'ymail.com',
  'zoho.com',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const KB = 1024;
const MB = 1024 * KB;

const BYTE_UNITS: Record<string, number> = { '': 1, k: KB, m: MB, g: 1024 * MB, t: 1024 * 1024 * MB };

/** `25MB`, `512 KB`, `1.5GiB`, `4096` or a number of bytes; binary units. Undefined when unreadable. */
export function parseByteSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])i?)?b?\s*$/i.exec(value);
  if (!match) return undefined;
  const unit = BYTE_UNITS[(match[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

function byteSize(fallback: number) {
  return z
    .unknown()
    .transform((raw, ctx) => {
      const bytes = parseByteSize(raw);
      if (bytes === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a size like 512KB or 25MB, got ${JSON.stringify(raw)}` });
        return z.NEVER;
      }
      return bytes;
    })
    .default(fallback);
}

const DOMAIN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;

const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(DOMAIN, { error: (issue) => `expected a domain like riverbank-trust.sch.uk, got ${JSON.stringify(issue.input)}` });

const addressPattern = z.string().superRefine((pattern, ctx) => {
  const problem = addressPatternProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const CATEGORY_PATTERN = /^(?:\*|[a-z0-9_-]+(?:\.[a-z0-9_-]+)*(?:\.\*)?)$/i;

const categoryPattern = z.string().regex(CATEGORY_PATTERN, {
  error: (issue) => `expected "*", a category like "safety.grooming" or a prefix like "safety.*", got ${JSON.stringify(issue.input)}`,
});

/** `*` matches everything, `prefix.*` matches `prefix` and anything under it, otherwise exact. */
export function matchesCategory(pattern: string, category: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -2);
    return category === prefix || category.startsWith(`${prefix}.`);
  }
  return pattern === category;
}

/** `disableRules` entries are rule ids or id prefixes: `personal_data` and `personal_data.` cover every personal-data rule. */
export function isRuleDisabled(id: string, disabled: readonly string[]): boolean {
  return disabled.some((d) => id === d || id.startsWith(d.endsWith('.') ? d : `${d}.`));
}

const list = <T extends z.ZodType>(item: T) => z.array(item).default(() => []);

const academySchema = z.strictObject({
  name: z.string().trim().min(1),
  patterns: z.array(addressPattern).min(1),
});

/** A trust leader whose name on mail from outside the trust is impersonation (CEO fraud). */
const leaderSchema = z.strictObject({
  name: z.string().trim().min(3),
  /** Addresses outside the trust domains that are really theirs (rare: a governor's own mailbox). */
  addresses: list(emailAddress),
});

const trustSchema = z
  .strictObject({
    name: z.string().trim().min(1).default('the trust'),
    domains: list(domainName),
    staff: list(addressPattern),
    pupils: list(addressPattern),
    /** Absolute once loaded: load.ts resolves it against the config file's folder. */
    directoryCsv: z.string().trim().min(1).optional(),
    unmatchedTrustRole: z.enum(['staff', 'pupil']).default('staff'),
    personalDomains: z.array(domainName).default(() => [...BUILTIN_PERSONAL_DOMAINS]),
    extraPersonalDomains: list(domainName),
    partnerDomains: list(domainName),
    academies: list(academySchema),
    leaders: list(leaderSchema),
  })
  // Consumers read one effective list; the extras stay visible for anyone reporting config.
  .transform((trust) => ({
    ...trust,
    personalDomains: [...new Set([...trust.personalDomains, ...trust.extraPersonalDomains])],
  }));

const scanSchema = z.strictObject({
  jobs: z.number().int().min(0).default(0),
  timeoutMs: z.number().int().min(1).default(10_000),
  memoryMb: z.number().int().min(16).default(512),
  maxMessageBytes: byteSize(50 * MB),
  maxAttachmentBytes: byteSize(10 * MB),
  maxTextChars: z.number().int().min(1).default(2_000_000),
  maxHtmlChars: z.number().int().min(1).default(5_000_000),
  maxAttachments: z.number().int().min(0).default(100),
  maxDepth: z.number().int().min(1).default(20),
  excerptContext: z.number().int().min(0).default(40),
});

/** Who a message with personal data goes to, worst first; see the personal-data detector. */
export const AUDIENCES = ['personal', 'pupil', 'external', 'partner', 'inbound', 'internal'] as const;
export type Audience = (typeof AUDIENCES)[number];

/** Personal data is never `urgent`: that level pages a person about a child at risk. */
const severity = z.enum(['minor', 'moderate', 'severe']);

const personalDataSchema = z.strictObject({
  /**
   * Severity of an identifier (UPN, NHS, bank, credentials) by where the message goes. For mail
   * leaving the trust, contact details (phone, address) are one step lower, special category data
   * one step higher and bulk records one more (so a table of SEN needs to an outside club is two
   * steps up), clamped to `minor`..`severe`. Internal and inbound mail keep their level whatever the
   * data, except a table of special category data, one step higher.
   */
  audienceSeverity: z
    .strictObject({
      personal: severity.default('severe'),
      pupil: severity.default('severe'),
      external: severity.default('moderate'),
      partner: severity.default('moderate'),
      inbound: severity.default('minor'),
      internal: severity.default('minor'),
    })
    .prefault({}),
  /** Rows of people's data that make a table bulk records. */
  bulkRows: z.number().int().min(2).default(5),
  /** External addresses in To/Cc (not Bcc) that make an outbound message expose its recipients. */
  exposedRecipients: z.number().int().min(2).default(10),
});

const chainMailSchema = z.strictObject({
  /** Distinct recipients (To, Cc, Bcc) from which a message's fan-out counts as a chain-mail signal. */
  fanOutRecipients: z.number().int().min(2).default(8),
  /**
   * The cross-message signal: near-duplicate chain text sent by this many distinct senders within
   * the window is stronger evidence. Counted in memory by `kestrel scan`, in Redis by a cluster.
   */
  spread: z
    .strictObject({
      enabled: z.boolean().default(true),
      windowHours: z.number().gt(0).max(24 * 30).default(72),
      minSenders: z.number().int().min(2).default(3),
    })
    .prefault({}),
});

const pupilEmailSchema = z.strictObject({
  /** Trust addresses that may receive social-network mail, e.g. the comms team's official accounts. */
  socialAccounts: list(addressPattern),
});

const acceptableUseSchema = z.strictObject({
  /** Distinct individual recipients from which one message from a trust account is mass mailing. */
  massMailingRecipients: z.number().int().min(2).default(50),
  /** Authentication-Results headers are believed only from these hosts (authserv-id); empty: the topmost one. */
  authservIds: list(z.string().trim().toLowerCase().min(1)),
  /** Services allowed to send with a trust domain in From (a newsletter platform's domain). */
  senderServiceDomains: list(domainName),
});

const routeSchema = z.strictObject({
  categories: z.array(categoryPattern).min(1),
  minSeverity: z.enum(SEVERITIES).default('minor'),
  /** Who receives this route's copies: trust addresses (the e-safety monitor, ICT, the DPO). */
  to: list(emailAddress),
  /** Also these recipients when a party to the message belongs to the academy (its DSL). */
  academies: z.record(z.string().trim().min(1), z.array(emailAddress).min(1)).default(() => ({})),
  /** `full` (clause 7.2.1: the original attached), `minimised` (summary, evidence, link), `digest` (daily counts) or `none` (recorded for review only). */
  copy: z.enum(COPY_FORMS).default('full'),
});

export type Route = z.output<typeof routeSchema>;

/** Fresh each time: a loaded config is the caller's to change. */
const noRecipients = (): Pick<Route, 'to' | 'academies'> => ({ to: [], academies: {} });

export function defaultRoutes(): Record<string, Route> {
  return {
    // Staff-pupil contact outside trust systems is a safeguarding matter; a social sign-up on a
    // trust address is account misuse, for ICT.
    monitor: { ...noRecipients(), categories: ['safety.*', 'pupil_email.non_trust_account', 'pupil_email.personal_contact'], minSeverity: 'minor', copy: 'full' },
    urgent: { ...noRecipients(), categories: ['*'], minSeverity: 'urgent', copy: 'full' },
    // The DPO works from the review queue; a copy of a leak would be one more copy of the data.
    dpo: { ...noRecipients(), categories: ['personal_data.*'], minSeverity: 'minor', copy: 'none' },
    ict: { ...noRecipients(), categories: ['chain_mail', 'acceptable_use.*', 'pupil_email.social_signup'], minSeverity: 'minor', copy: 'digest' },
    record: { ...noRecipients(), categories: ['profanity'], minSeverity: 'minor', copy: 'none' },
  };
}

function isTrustAddress(address: string, domains: readonly string[]): boolean {
  return domains.some((d) => isUnderDomain(domainOf(address), d));
}

/**
 * Copies carry children's mail: every recipient must be a trust address (clause 7.2.1 says the
 * monitor receives them "using a Trust email address") with a way to reach it, and a route naming
 * an academy must name one the trust lists.
 */
function checkRecipients(config: RecipientCheckInput, ctx: z.RefinementCtx): void {
  const { delivery, trust } = config;
  const imapAddresses = new Set(delivery.imap.map((d) => d.address));
  const academyNames = new Set(trust.academies.map((a) => a.name));
  const requireTrust = (address: string, path: (string | number)[], rule = 'copies go only to trust addresses'): void => {
    if (trust.domains.length > 0 && !isTrustAddress(address, trust.domains)) ctx.addIssue({ code: 'custom', message: `${address} is not in trust.domains: ${rule}`, path });
  };
  const check = (address: string, path: (string | number)[]): void => {
    requireTrust(address, path);
    if (!delivery.smtp && !imapAddresses.has(address)) {
      ctx.addIssue({ code: 'custom', message: `no way to deliver to ${address}: set delivery.smtp, or list the address under delivery.imap`, path });
    }
  };
  let sends = false;
  for (const [name, route] of Object.entries(config.routes)) {
    // Escalation copies are recorded under this name.
    if (name === 'escalation') ctx.addIssue({ code: 'custom', message: 'the route name "escalation" is reserved: escalation copies are recorded under it', path: ['routes', name] });
    if (route.copy === 'none') continue;
    route.to.forEach((address, index) => check(address, ['routes', name, 'to', index]));
    for (const [academy, addresses] of Object.entries(route.academies)) {
      if (!academyNames.has(academy)) ctx.addIssue({ code: 'custom', message: `"${academy}" is not one of trust.academies`, path: ['routes', name, 'academies', academy] });
      addresses.forEach((address, index) => check(address, ['routes', name, 'academies', academy, index]));
    }
    sends ||= route.to.length > 0 || Object.keys(route.academies).length > 0;
  }
  delivery.escalation.to.forEach((address, index) => check(address, ['delivery', 'escalation', 'to', index]));
  delivery.imap.forEach((destination, index) => requireTrust(destination.address, ['delivery', 'imap', index, 'address']));
  sends ||= delivery.escalation.to.length > 0;
  if (sends && delivery.from === undefined) ctx.addIssue({ code: 'custom', message: 'copies need a sender: set delivery.from to a trust address', path: ['delivery', 'from'] });
  // Without trust domains no recipient could be checked: copies could leave the trust.
  if (sends && trust.domains.length === 0) ctx.addIssue({ code: 'custom', message: 'copies go to trust addresses only: list the trust\'s domains in trust.domains', path: ['trust', 'domains'] });
  if (delivery.from !== undefined) {
    const address = senderAddressOf(delivery.from);
    if (address === undefined) ctx.addIssue({ code: 'custom', message: `expected one address like "Kestrel <kestrel@trust.sch.uk>", got ${JSON.stringify(delivery.from)}`, path: ['delivery', 'from'] });
    else requireTrust(address, ['delivery', 'from'], 'copies come from a trust address');
  }
}

type RecipientCheckInput = {
  trust: { domains: string[]; academies: Array<{ name: string }> };
  routes: Record<string, Route>;
  delivery: z.output<typeof deliverySchema>;
};

export const kestrelConfigSchema = z.strictObject({
  trust: trustSchema.prefault({}),
  /** Extra lexicon directories or files, absolute once loaded. */
  lexicons: list(z.string().trim().min(1)),
  /** false: use only the `lexicons` listed here, for a trust that owns its whole rule set. */
  builtinLexicons: z.boolean().default(true),
  /** Rule ids or id prefixes to switch off. */
  disableRules: list(z.string().trim().min(1)),
  /**
   * Severity for findings in a named kind of context: lexicon context entries named with `as`
   * (reported_speech, lesson, safeguarding_process), and `quoted` for quoted or forwarded history.
   */
  contextSeverity: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), z.enum(SEVERITIES)).default(() => ({})),
  scan: scanSchema.prefault({}),
  personalData: personalDataSchema.prefault({}),
  chainMail: chainMailSchema.prefault({}),
  pupilEmail: pupilEmailSchema.prefault({}),
  acceptableUse: acceptableUseSchema.prefault({}),
  // Given routes replace the defaults wholesale: merging would make a removed route impossible.
  routes: z.record(z.string().trim().min(1), routeSchema).default(defaultRoutes),
  delivery: deliverySchema.prefault({}),
  review: reviewSchema.prefault({}),
  retention: retentionSchema.prefault({}),
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).prefault({}),
  ...operationsSchema,
}).superRefine(checkRecipients);

export type KestrelConfig = z.output<typeof kestrelConfigSchema>;
