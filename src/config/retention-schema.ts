/**
 * How long review data is kept. Monitoring data is "held securely, and accessed by, and disclosed
 * to, individuals only for the purposes of completing the exercise" (`003_c7be022a1d032c68.txt` 5)
 * and logs are "kept for no longer than necessary" (`002_ac353918cf928566.txt`, Monitoring and
 * Logging): every period here ends in the daily purge (`kestrel purge`, flags/retention.ts).
 */
import * as z from 'zod';

const days = z.number().int().min(1).max(36_500);

/** `*`, an exact category (`safety.self_harm`) or a prefix pattern (`personal_data.*`). */
const CATEGORY_PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/;

/**
 * Days a closed flag is kept after its final outcome, by category. A flag with several categories
 * is kept for the longest of theirs; a category takes its most specific pattern. Given patterns
 * are laid over these, so setting `profanity` does not shorten `safety.*`.
 * - `safety.*`: six years. A concern about a child can matter long after it was closed (a later
 *   referral to the LADO, 000_84beb20efc1da5e6.txt 13.5); the case itself goes to the
 *   safeguarding record by export, so this is the monitoring trail only.
 * - `*`: a year, as long as a minor breach's warning is held (002_ac353918cf928566.txt, Minor Breach).
 * - `profanity`: 90 days: untargeted swearing is a minor matter that needs no long record.
 */
const DEFAULT_CATEGORY_DAYS: Record<string, number> = { '*': 365, 'safety.*': 2190, profanity: 90 };

const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

export const retentionSchema = z
  .strictObject({
    categories: z
      .record(z.string().regex(CATEGORY_PATTERN, { error: 'expected *, a category like safety.self_harm, or a pattern like personal_data.*' }), days)
      .default(() => ({}))
      .transform((given) => ({ ...DEFAULT_CATEGORY_DAYS, ...given })),
    /** A false positive is no concern about anyone: kept a month after it was closed, for precision figures and appeals. */
    falsePositiveDays: days.default(30),
    /**
     * Messages kept under a targeted-monitoring authorisation, counted from the day it ended: time
     * for the report to the Headteacher or Governing Body (002, Monitoring the use of telephone,
     * e-mail and the Internet), then gone.
     */
    retainedMessagesDays: days.default(30),
    /**
     * The audit log (who viewed, exported or decided what). Six years by default, and never
     * shorter than the longest category period: the record of who saw a flag outlives the flag.
     */
    auditDays: days.default(2190),
    /**
     * Keys (hashes) of scanned messages with no flag: they stop a mailbox resync scanning old mail
     * again. A purged flag's key is kept this long from the purge.
     */
    scannedKeysDays: days.default(400),
    /** Records of messages that could not be scanned (mailbox position and reason only). */
    scanFailuresDays: days.default(90),
    /** Daily digests' counts, once their copies are finished (each route's newest is always kept). */
    digestsDays: days.default(365),
    /**
     * The longest a targeted-monitoring authorisation may run. Occasional monitoring is "a short
     * term measure" (003_c7be022a1d032c68.txt 7.2), reviewed "with a view to terminating monitoring
     * in as short a period of time as possible" (002, Monitoring the use of telephone, e-mail and the Internet).
     */
    maxAuthorisationDays: days.default(90),
    /** When the daily purge runs, in delivery.timeZone. */
    purgeAt: z.string().regex(TIME_OF_DAY, { error: 'expected a time of day like 02:30' }).default('02:30'),
  })
  .superRefine((retention, ctx) => {
    const longest = Math.max(...Object.values(retention.categories), retention.falsePositiveDays);
    if (retention.auditDays < longest) {
      ctx.addIssue({ code: 'custom', message: `must be at least the longest flag period (${longest} days): the audit of a flag outlives the flag`, path: ['auditDays'] });
    }
  });

export type RetentionConfig = z.output<typeof retentionSchema>;
