/**
 * Reviewers' decisions fed back into scanning, through processMessage on a real store (PGlite) and
 * the real scanner: suppressions drop findings (never urgent ones) and the verdict is recomputed;
 * an active authorisation keeps its account's messages, flagged or not; a failure to keep one
 * never costs the scan record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createDirectory } from '../../src/directory/directory.js';
import type { FetchedMessage } from '../../src/connect/types.js';
import { openRetained } from '../../src/flags/authorisations.js';
import { messageKey } from '../../src/flags/message-key.js';
import type { Reviewer } from '../../src/flags/review-types.js';
import { createScanFeedback, type ScanFeedback } from '../../src/flags/scan-feedback.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { createMetrics, type KestrelMetrics } from '../../src/ops/metrics.js';
import { processMessage, type ProcessDeps } from '../../src/queue/process-message.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { type Backend, type Database, insertMonitor, pgliteBackend, silent } from '../flags/support.js';
import type { ScanReport } from '../../src/scan/pipeline.js';
import { metricValue } from '../helpers/wait.js';
import { capturingLogger, FLAGGED_BODY, message, SENDER } from './helpers.js';

const RECIPIENT = 'k.patel@oakfield.sch.uk';
// The messages of helpers.message() are found in acct-quokka: RECIPIENT's own mailbox.
const config = parseConfig(
  'test/queue/kestrel.yaml',
  [
    'trust:\n  domains: [oakfield.sch.uk]',
    'builtinLexicons: false',
    'lexicons: [../fixtures/lexicons]',
    `accounts:\n  - { id: acct-quokka, host: 127.0.0.1, user: ${RECIPIENT}, password: { value: x } }\n  - { id: acct-other, host: 127.0.0.1, user: someone.else@oakfield.sch.uk, password: { value: x } }`,
  ].join('\n'),
);
const scanner = createScanner(config);
const KEY = Buffer.alloc(32, 9);
const DAY = 86_400_000;
const INSULT = 'honestly you are so ugly';

let backend: Backend;
let store: SqlFlagStore;
let db: Database;
let monitor: Reviewer;
let n = 0;

beforeAll(async () => {
  backend = await pgliteBackend();
  db = await backend.fresh();
  store = createSqlFlagStore(db.client, silent);
  await store.migrate();
  monitor = await insertMonitor(db.client);
});

afterAll(async () => {
  await store?.close();
  await backend?.stop();
});

/** Each feedback counts into its own metrics, which its processMessage deps share. */
const metricsOf = new WeakMap<ScanFeedback, KestrelMetrics>();

function feedbackFor(options: { keys?: { original: Buffer }; logger?: ProcessDeps['logger'] } = {}): ScanFeedback {
  const metrics = createMetrics();
  const feedback = createScanFeedback({ store, keys: options.keys ?? { original: KEY }, logger: options.logger ?? silent, metrics, routes: config.routes, directory: createDirectory(config.trust) });
  metricsOf.set(feedback, metrics);
  return feedback;
}

function deps(feedback: ScanFeedback, logger: ProcessDeps['logger'] = silent): ProcessDeps {
  return { config, store, metrics: metricsOf.get(feedback)!, logger, scan: (raw, envelope) => scanner.scan(raw, envelope), spread: null, feedback };
}

const counted = (feedback: ScanFeedback, name: string): Promise<number> => metricValue(metricsOf.get(feedback)!, name);

function mail(body: string, position: Partial<FetchedMessage> = {}): FetchedMessage {
  return message(`feedback-${++n}`, body, { uid: n, ...position });
}

const inDays = (days: number): Date => new Date(Date.now() + days * DAY);

describe('suppressions', () => {
  it('drop a suppressed finding from its sender: the message is recorded clean and the hit counted', async () => {
    const before = await processMessage(mail(INSULT), deps(feedbackFor()));
    expect(before.flagId).not.toBeNull();
    const s = await store.createSuppression({ rule: 'bullying.targeted_insult', sender: SENDER, phrase: 'you are so ugly', reason: 'drama script', expiresAt: inDays(30) }, monitor);
    const feedback = feedbackFor();
    const after = await processMessage(mail(INSULT), deps(feedback));
    expect(after).toMatchObject({ flagId: null, created: true });
    expect(await store.suppression(s.id)).toMatchObject({ hits: 1, lastHitAt: expect.any(Date) });
    expect(await counted(feedback, 'kestrel_findings_suppressed_total')).toBe(1);
    // Other words from the same sender, and the same words from another sender, are still flagged.
    expect((await processMessage(mail('you are such a pathetic freak'), deps(feedback))).flagId).not.toBeNull();
    expect((await processMessage(mail(INSULT, { raw: Buffer.from(`From: other@oakfield.sch.uk\r\nTo: ${RECIPIENT}\r\nSubject: x\r\nMessage-ID: <other-${++n}@x>\r\n\r\n${INSULT}\r\n`) }), deps(feedback))).flagId).not.toBeNull();
    await store.revokeSuppression(s.id, monitor);
  });

  it('never drop an urgent finding, and keep a report that still has findings flagged with its verdict recomputed', async () => {
    await store.createSuppression({ rule: 'self_harm.intent', sender: SENDER, reason: 'tried to silence it', expiresAt: inDays(30) }, monitor);
    const insult = await store.createSuppression({ rule: 'bullying.targeted_insult', sender: SENDER, reason: 'r', expiresAt: inDays(30) }, monitor);
    const feedback = feedbackFor();
    const { report } = await feedback.suppress(await scanner.scan(mail(`${FLAGGED_BODY}. ${INSULT}`).raw));
    expect(report.flagged).toBe(true);
    expect(report.urgent).toBe(true);
    expect(report.findings.map((f) => f.rule)).toEqual(['self_harm.intent']);
    expect(report.categories).toEqual(['safety.self_harm']);
    expect(report.from?.address).toBe(SENDER);
    await store.revokeSuppression(insult.id, monitor);
  });

  it('are counted once when two workers scan the same message (a retried job, or a lost race)', async () => {
    const s = await store.createSuppression({ rule: 'bullying.targeted_insult', sender: SENDER, phrase: 'you are so ugly', reason: 'drama script', expiresAt: inDays(30) }, monitor);
    const feedback = feedbackFor();
    const same = mail(INSULT);
    // No claims: both scan, and only one records.
    const results = await Promise.all([processMessage(same, deps(feedback)), processMessage(same, deps(feedback))]);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await store.suppression(s.id)).toMatchObject({ hits: 1 });
    expect(await counted(feedback, 'kestrel_findings_suppressed_total')).toBe(1);
    await store.revokeSuppression(s.id, monitor);
  });

  it('leave no flag and no copies for a fully suppressed message, and route a partly suppressed one on what is left', async () => {
    const s = await store.createSuppression({ rule: 'bullying.targeted_insult', sender: SENDER, reason: 'r', expiresAt: inDays(30) }, monitor);
    const feedback = feedbackFor();
    const planned: ScanReport[] = [];
    const planning: ProcessDeps = {
      ...deps(feedback),
      planOutbox: (report) => {
        planned.push(report);
        return report.flagged ? { deliveries: report.routes.map((route) => ({ recipient: `${route}@oakfield.sch.uk`, routes: [route], form: 'full' as const, messageId: `<c-${++n}@x>` })) } : undefined;
      },
    };
    const whole = await processMessage(mail(INSULT), planning);
    expect(whole).toMatchObject({ flagId: null, created: true });
    expect(planned.at(-1)).toMatchObject({ flagged: false, routes: [] });

    const partly = await processMessage(mail(`${FLAGGED_BODY}. ${INSULT}`), planning);
    const alone = await scanner.scan(mail(FLAGGED_BODY).raw);
    expect(planned.at(-1)!.findings.map((f) => f.rule)).toEqual(['self_harm.intent']);
    expect(planned.at(-1)!.routes).toEqual(alone.routes);
    expect((await store.deliveries({ flagId: partly.flagId! })).map((d) => d.routes[0]).sort()).toEqual([...alone.routes].sort());
    await store.revokeSuppression(s.id, monitor);
  });
});

describe('targeted monitoring', () => {
  it('keeps, sealed, the clean and flagged messages of an account under an active authorisation, and nothing else', async () => {
    const a = await store.createAuthorisation({ account: RECIPIENT, reason: 'r', approver: 'Head', piaReference: 'PIA-1', startsAt: inDays(-1), endsAt: inDays(10) }, monitor);
    const feedback = feedbackFor();
    const clean = mail('Please bring a packed lunch on Friday');
    await processMessage(clean, deps(feedback));
    const flagged = mail(FLAGGED_BODY);
    const flaggedResult = await processMessage(flagged, deps(feedback));
    const other = mail('lunch', { account: 'acct-other', raw: Buffer.from(`From: ${SENDER}\r\nTo: someone.else@oakfield.sch.uk\r\nSubject: x\r\nMessage-ID: <o-${++n}@x>\r\n\r\nhello ${RECIPIENT.toUpperCase()}\r\n`) });
    await processMessage(other, deps(feedback));
    // A journal report's envelope names a Bcc recipient the headers hide.
    const bcc = mail('see you', { account: 'acct-other', raw: Buffer.from(`From: ${SENDER}\r\nTo: someone.else@oakfield.sch.uk\r\nSubject: x\r\nMessage-ID: <b-${++n}@x>\r\n\r\nsee you\r\n`), envelope: { sender: SENDER, recipients: ['someone.else@oakfield.sch.uk', RECIPIENT] } });
    await processMessage(bcc, deps(feedback));

    const kept = await store.retainedMessages(a.id, { offset: 0, limit: 10 });
    expect(kept.items.map((m) => m.messageKey).sort()).toEqual([messageKey(clean.raw), messageKey(flagged.raw), messageKey(bcc.raw)].sort());
    expect(kept.items.find((m) => m.messageKey === messageKey(flagged.raw))?.flagId).toBe(flaggedResult.flagId);
    const one = await store.retainedMessage(a.id, kept.items.find((m) => m.messageKey === messageKey(clean.raw))!.id);
    expect(openRetained(one!.sealed, KEY, a.id, messageKey(clean.raw))).toEqual(clean.raw);
    expect(await counted(feedback, 'kestrel_messages_retained_total')).toBe(3);
    expect(await counted(feedback, 'kestrel_retain_failures_total')).toBe(0);

    // Ended: nothing more is kept at once, though this process read the authorisation as active
    // (the store refuses a kept copy under one no longer in force).
    await store.endAuthorisation(a.id, monitor, 'done', new Date());
    await processMessage(mail('another day'), deps(feedback));
    expect((await store.retainedMessages(a.id, { offset: 0, limit: 10 })).total).toBe(3);
  });

  it('records the scan when keeping the message fails, and logs the failure without addresses', async () => {
    const a = await store.createAuthorisation({ account: RECIPIENT, reason: 'r', approver: 'Head', piaReference: 'PIA-2', startsAt: inDays(-1), endsAt: inDays(10) }, monitor);
    const { logger, lines } = capturingLogger();
    // A key of the wrong length: sealing fails for real.
    const feedback = feedbackFor({ keys: { original: Buffer.alloc(5) }, logger });
    const fetched = mail('Please bring a packed lunch on Friday');
    const result = await processMessage(fetched, deps(feedback, logger));
    expect(result).toMatchObject({ created: true, duplicate: false });
    expect(await store.priorScan(messageKey(fetched.raw))).toEqual({ flagId: null });
    expect(await counted(feedback, 'kestrel_retain_failures_total')).toBe(1);
    const failure = lines.find((l) => String(l.msg).startsWith('cannot keep a message'));
    expect(failure).toBeDefined();
    expect(JSON.stringify(lines)).not.toContain('@oakfield.sch.uk');
    await store.endAuthorisation(a.id, monitor, 'done', new Date());
  });

  it("keeps mail found in the account's own mailbox that names it nowhere (a list), and a copy that names it after another copy was scanned", async () => {
    const a = await store.createAuthorisation({ account: RECIPIENT, reason: 'r', approver: 'Head', piaReference: 'PIA-3', startsAt: inDays(-1), endsAt: inDays(10) }, monitor);
    const feedback = feedbackFor();
    const list = mail('staff briefing', { raw: Buffer.from(`From: ${SENDER}\r\nTo: all-staff@oakfield.sch.uk\r\nSubject: x\r\nMessage-ID: <l-${++n}@x>\r\n\r\nbriefing at 8\r\n`) });
    await processMessage(list, deps(feedback));

    // The recipient's copy (no Bcc header) is scanned first, in their mailbox; the sender's Sent copy names the Bcc.
    const headers = `From: ${SENDER}\r\nTo: someone.else@oakfield.sch.uk\r\nSubject: x\r\nMessage-ID: <s-${++n}@x>\r\nDate: Thu, 20 Nov 2026 09:30:00 +0000\r\n`;
    const inbox = mail('x', { account: 'acct-other', raw: Buffer.from(`${headers}\r\nsee you\r\n`) });
    const sent = mail('x', { account: 'acct-sender', folder: 'Sent', raw: Buffer.from(`${headers}Bcc: ${RECIPIENT}\r\n\r\nsee you\r\n`) });
    expect(messageKey(sent.raw)).toBe(messageKey(inbox.raw));
    expect(await processMessage(inbox, deps(feedback))).toMatchObject({ duplicate: false });
    expect(await processMessage(sent, deps(feedback))).toMatchObject({ duplicate: true });
    // Seen again, it is not kept twice.
    expect(await processMessage(sent, deps(feedback))).toMatchObject({ duplicate: true });

    const kept = await store.retainedMessages(a.id, { offset: 0, limit: 10 });
    expect(kept.items.map((m) => m.messageKey).sort()).toEqual([messageKey(list.raw), messageKey(sent.raw)].sort());
    expect(kept.items.find((m) => m.messageKey === messageKey(sent.raw))).toMatchObject({ direction: 'internal', messageDate: new Date('2026-11-20T09:30:00Z') });
    expect(await counted(feedback, 'kestrel_messages_retained_total')).toBe(2);
    await store.endAuthorisation(a.id, monitor, 'done', new Date());
  });

  it('never scans a copy of a message scanned before: direction and date come from its flag, or else its headers', async () => {
    const a = await store.createAuthorisation({ account: RECIPIENT, reason: 'r', approver: 'Head', piaReference: 'PIA-4', startsAt: inDays(-1), endsAt: inDays(10) }, monitor);
    const feedback = feedbackFor();
    let scans = 0;
    const counting: ProcessDeps = { ...deps(feedback), scan: (raw, envelope) => (scans++, scanner.scan(raw, envelope)) };
    // Found first in a mailbox that is not the monitored account's, naming it nowhere: nothing is kept.
    const list = (id: string, body: string, date: string): Buffer =>
      Buffer.from(`From: outsider@example.org\r\nTo: all-staff@oakfield.sch.uk\r\nSubject: x\r\nMessage-ID: <${id}-${++n}@x>\r\nDate: ${date}\r\n\r\n${body}\r\n`);
    const clean = list('dup-clean', 'briefing at 8', 'Fri, 21 Nov 2026 08:00:00 +0000');
    const flagged = list('dup-flagged', FLAGGED_BODY, 'Sat, 22 Nov 2026 08:00:00 +0000');
    await processMessage(mail('x', { account: 'acct-other', raw: clean }), counting);
    const { flagId } = await processMessage(mail('x', { account: 'acct-other', raw: flagged }), counting);
    expect(flagId).not.toBeNull();
    // The flag's direction and date are taken over the headers': changed here so the test can tell which was read.
    await db.client.query("UPDATE flags SET direction = 'outbound', message_date = '2026-01-02T03:04:05Z' WHERE id = $1", [flagId]);
    expect(scans).toBe(2);

    // Copies in the monitored account's own mailbox (the list delivered to it), each seen twice.
    for (let copy = 0; copy < 2; copy++) {
      await processMessage(mail('x', { raw: clean }), counting);
      await processMessage(mail('x', { raw: flagged }), counting);
    }
    expect(scans).toBe(2);

    const kept = await store.retainedMessages(a.id, { offset: 0, limit: 10 });
    expect(kept.total).toBe(2);
    expect(kept.items.find((m) => m.messageKey === messageKey(clean))).toMatchObject({ flagId: null, direction: 'inbound', messageDate: new Date('2026-11-21T08:00:00Z') });
    expect(kept.items.find((m) => m.messageKey === messageKey(flagged))).toMatchObject({ flagId, direction: 'outbound', messageDate: new Date('2026-01-02T03:04:05Z') });
    expect(await counted(feedback, 'kestrel_messages_retained_total')).toBe(2);
    await store.endAuthorisation(a.id, monitor, 'done', new Date());
  });
});
