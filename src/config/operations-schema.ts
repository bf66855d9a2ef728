/**
 * Config for running Kestrel against live mailboxes: the accounts it watches, the queue and
 * workers of a cluster, the flag store and the metrics endpoint. `kestrel scan` ignores all of it.
 */
import * as z from 'zod';

const MB = 1024 * 1024;

export const nonEmpty = z.string().trim().min(1);

/** A secret given inline, in a file (absolute once loaded), or in an environment variable. */
export const secretSchema = z.union([
  z.strictObject({ value: nonEmpty }),
  z.strictObject({ file: nonEmpty }),
  z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name' }) }),
]);
export type SecretSource = z.output<typeof secretSchema>;

export const oauth2Schema = z
  .strictObject({
    /** A command printing a fresh access token on stdout (e.g. a token helper for Entra or Google). */
    tokenCommand: nonEmpty.optional(),
    /** A file another process keeps refreshed with the current access token. Absolute once loaded. */
    tokenFile: nonEmpty.optional(),
    /** Fetch a new token this long after the last one, and reconnect before the server ends the session. */
    refreshSeconds: z.number().int().min(60).default(45 * 60),
  })
  .refine((o) => (o.tokenCommand === undefined) !== (o.tokenFile === undefined), { error: 'give exactly one of tokenCommand or tokenFile' });

export const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** The default: INBOX and the folder the server marks as Sent (RFC 6154 special-use). */
export const DEFAULT_FOLDERS = ['INBOX', '\\Sent'] as const;

const accountSchema = z
  .strictObject({
    /** Stable name for checkpoints, leases, logs and metrics; not necessarily the address. */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/, { error: 'expected letters, digits and . _ @ - (up to 128)' }),
    host: nonEmpty,
    port: z.number().int().min(1).max(65535).optional(),
    /** implicit: TLS from the start (993); starttls: upgrade on 143; none: loopback test servers only. */
    tls: z.enum(['implicit', 'starttls', 'none']).default('implicit'),
    /** Extra CA certificate (PEM file, absolute once loaded) for a trust's own IMAP server. */
    ca: nonEmpty.optional(),
    user: nonEmpty,
    password: secretSchema.optional(),
    oauth2: oauth2Schema.optional(),
    /** Folder names, or special-use flags like `\Sent`, resolved on the server. */
    folders: z.array(nonEmpty).min(1).default(() => [...DEFAULT_FOLDERS]),
    /** A journal mailbox: every message is a journal report wrapping the real one and its envelope. */
    journal: z.boolean().default(false),
    /** On first sight of a folder, scan mail from this date; without it only new mail is scanned. */
    backfillSince: z.iso.date({ error: 'expected a date like 2026-09-01' }).optional(),
    /** Poll this often as well as IDLE: idle connections can die silently. */
    pollSeconds: z.number().int().min(5).default(60),
  })
  .refine((a) => (a.password === undefined) !== (a.oauth2 === undefined), { error: 'give exactly one of password or oauth2', path: ['password'] })
  .refine((a) => a.tls !== 'none' || LOOPBACK.has(a.host), { error: 'none is allowed only for a loopback host (mail would cross the network in clear)', path: ['tls'] });
export type AccountConfig = z.output<typeof accountSchema>;

const connectSchema = z.strictObject({
  /** A connector holds each account's lease this long without renewing; a dead one's accounts move on after it. */
  leaseSeconds: z.number().int().min(5).max(60).default(30),
  reconnectMinMs: z.number().int().min(10).default(1_000),
  reconnectMaxMs: z.number().int().min(100).default(5 * 60_000),
  /** Connectors stop fetching while this many scan jobs wait, and resume below `lowWater`. */
  highWater: z.number().int().min(1).default(10_000),
  lowWater: z.number().int().min(0).default(5_000),
});

const queueSchema = z.strictObject({
  /** Cluster mode when set (or REDIS_URL); without it `kestrel run` scans in-process. */
  redisUrl: nonEmpty.optional(),
  /** Prefix of every BullMQ key, so two trusts can share one Redis. */
  prefix: z.string().regex(/^[A-Za-z0-9:_-]+$/).default('kestrel'),
  /** AES-256-GCM key for messages in Redis: 32 bytes, base64 or hex. Required in cluster mode. */
  key: secretSchema.optional(),
  /** Raw messages above this travel without their attachments, and the flag records that. */
  maxMessageBytes: z.number().int().min(64 * 1024).default(25 * MB),
  attempts: z.number().int().min(1).default(8),
  backoffMs: z.number().int().min(10).default(5_000),
  /** Finished jobs are kept this long so operators can see them, then removed. */
  keepCompletedSeconds: z.number().int().min(0).default(3_600),
});

const workersSchema = z.strictObject({
  /** Messages scanned at once per worker process; 0 means one per core. */
  concurrency: z.number().int().min(0).default(0),
  /**
   * Scan threads are replaced after this many messages (long-lived threads leak); a restart costs
   * about a second of CPU and a cold JIT, so the heap ceiling below catches leaks sooner.
   */
  recycleAfterJobs: z.number().int().min(1).default(20_000),
  /** Scan threads are replaced when their heap passes this after a message. */
  recycleHeapMb: z.number().int().min(16).default(384),
  /**
   * A worker renews its hold on a job within this; the job of a worker that died (kill -9, lost
   * machine) goes back to the queue within about twice this. Keep it well above scan.timeoutMs.
   */
  lockSeconds: z.number().int().min(2).default(30),
});

const storeSchema = z.strictObject({
  /** PostgreSQL connection string (or DATABASE_URL); without it PGlite keeps state in `dataDir`. */
  url: nonEmpty.optional(),
  /** Absolute once loaded. */
  dataDir: nonEmpty.default('./data'),
});

const metricsSchema = z.strictObject({
  /** host:port for /metrics, /healthz and /readyz; false to serve nothing. */
  listen: z.union([z.literal(false), z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: 'expected host:port, e.g. 127.0.0.1:9464' })]).default('127.0.0.1:9464'),
});

export const operationsSchema = {
  accounts: z
    .array(accountSchema)
    .superRefine((accounts, ctx) => {
      const seen = new Set<string>();
      accounts.forEach((account, index) => {
        if (seen.has(account.id)) ctx.addIssue({ code: 'custom', message: `account id "${account.id}" is used twice`, path: [index, 'id'] });
        seen.add(account.id);
      });
    })
    .default(() => []),
  connect: connectSchema.prefault({}),
  queue: queueSchema.prefault({}),
  workers: workersSchema.prefault({}),
  store: storeSchema.prefault({}),
  metrics: metricsSchema.prefault({}),
};
