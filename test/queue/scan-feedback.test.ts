/**
 * Reviewers' decisions fed back into scanning, through processMessage on a real store (PGlite) and
 * the real scanner: suppressions drop findings (never urgent ones) and the verdict is recomputed;
 * an active authorisation keeps its account's messages, flagged or not; a failure to keep one
 * never costs the scan record.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { FetchedMessage } from '../../src/connect/types.js';
import { openRetained } from '../../src/flags/authorisations.js';
import { messageKey } from '../../src/flags/message-key.js';
import type { Reviewer } from '../../src/flags/review-types.js';
import { createScanFeedback, type ScanFeedback } from '../../src/flags/scan-feedback.js';
import { toNumber } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { processMessage, type ProcessDeps } from '../../src/queue/process-message.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { type Backend, pgliteBackend, silent } from '../flags/support.js';
import { capturingLogger, FLAGGED_BODY, message, SENDER } from './helpers.js';

const config = parseConfig('test/queue/kestrel.yaml', ['trust:\n  domains: [oakfield.sch.uk]', 'builtinLexicons: false', 'lexicons: [../fixtures/lexicons]'].join('\n'));
const scanner = createScanner(config);
const KEY = Buffer.alloc(32, 9);
const DAY = 86_400_000;
const INSULT = 'honestly you are so ugly';
const RECIPIENT = 'k.patel@oakfield.sch.uk';

let backend: Backend;
let store: SqlFlagStore;
let monitor: Reviewer;
let n = 0;

beforeAll(async () => {
  backend = await pgliteBackend();
  const db = await backend.fresh();
  store = createSqlFlagStore(db.client, silent);
  await store.migrate();
  const { rows } = await db.client.query<{ id: unknown }>("INSERT INTO users (username, display_name, role) VALUES ('mon', 'Mon', 'monitor') RETURNING id");
  monitor = { id: toNumber(rows[0]!.id), username: 'mon', displayName: 'Mon', role: 'monitor', academy: null };
});

afterAll(async () => {
  await store?.close();
  await backend?.stop();
});

function feedbackFor(options: { keys?: { original: Buffer }; logger?: ProcessDeps['logger'] } = {}): ScanFeedback {
  return createScanFeedback({ store, keys: options.keys ?? { original: KEY }, logger: options.logger ?? silent, routes: config.routes });
}

function deps(feedback: ScanFeedback, logger: ProcessDeps['logger'] = silent): ProcessDeps {
  return { config, store, metrics: createMetrics(), logger, scan: (raw, envelope) => scanner.scan(raw, envelope), spread: null, feedback };
}

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
    expect(feedback.counts().findingsSuppressed).toBe(1);
    // Other words from the same sender, and the same words from another sender, are still flagged.
    expect((await processMessage(mail('you are such a pathetic freak'), deps(feedback))).flagId).not.toBeNull();
    expect((await processMessage(mail(INSULT, { raw: Buffer.from(`From: other@oakfield.sch.uk\r\nTo: ${RECIPIENT}\r\nSubject: x\r\nMessage-ID: <other-${++n}@x>\r\n\r\n${INSULT}\r\n`) }), deps(feedback))).flagId).not.toBeNull();
    await store.revokeSuppression(s.id, monitor);
  });

  it('never drop an urgent finding, and keep a report that still has findings flagged with its verdict recomputed', async () => {
    await store.createSuppression({ rule: 'self_harm.intent', sender: SENDER, reason: 'tried to silence it', expiresAt: inDays(30) }, monitor);
    const insult = await store.createSuppression({ rule: 'bullying.targeted_insult', sender: SENDER, reason: 'r', expiresAt: inDays(30) }, monitor);
    const feedback = feedbackFor();
    const report = await feedback.suppress(await scanner.scan(mail(`${FLAGGED_BODY}. ${INSULT}`).raw));
    expect(report.flagged).toBe(true);
    expect(report.urgent).toBe(true);
    expect(report.findings.map((f) => f.rule)).toEqual(['self_harm.intent']);
    expect(report.categories).toEqual(['safety.self_harm']);
    expect(report.from?.address).toBe(SENDER);
    await store.revokeSuppression(insult.id, monitor);
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
    const other = mail('lunch', { raw: Buffer.from(`From: ${SENDER}\r\nTo: someone.else@oakfield.sch.uk\r\nSubject: x\r\nMessage-ID: <o-${++n}@x>\r\n\r\nhello ${RECIPIENT.toUpperCase()}\r\n`) });
    await processMessage(other, deps(feedback));
    // A journal report's envelope names a Bcc recipient the headers hide.
    const bcc = mail('see you', { raw: Buffer.from(`From: ${SENDER}\r\nTo: someone.else@oakfield.sch.uk\r\nSubject: x\r\nMessage-ID: <b-${++n}@x>\r\n\r\nsee you\r\n`), envelope: { sender: SENDER, recipients: ['someone.else@oakfield.sch.uk', RECIPIENT] } });
    await processMessage(bcc, deps(feedback));

    const kept = await store.retainedMessages(a.id, { offset: 0, limit: 10 });
    expect(kept.items.map((m) => m.messageKey).sort()).toEqual([messageKey(clean.raw), messageKey(flagged.raw), messageKey(bcc.raw)].sort());
    expect(kept.items.find((m) => m.messageKey === messageKey(flagged.raw))?.flagId).toBe(flaggedResult.flagId);
    const one = await store.retainedMessage(a.id, kept.items.find((m) => m.messageKey === messageKey(clean.raw))!.id);
    expect(openRetained(one!.sealed, KEY, a.id, messageKey(clean.raw))).toEqual(clean.raw);
    expect(feedback.counts()).toMatchObject({ retained: 3, retainFailures: 0 });

    // Ended (and read again at once): nothing more is kept.
    await store.endAuthorisation(a.id, monitor, 'done', new Date());
    await feedback.refresh();
    await processMessage(mail('another day'), deps(feedback));
    expect((await store.retainedMessages(a.id, { offset: 0, limit: 10 })).total).toBe(3);
  });

  it('records the scan when keeping the message fails, and logs the failure without addresses', async () => {
    await store.createAuthorisation({ account: RECIPIENT, reason: 'r', approver: 'Head', piaReference: 'PIA-2', startsAt: inDays(-1), endsAt: inDays(10) }, monitor);
    const { logger, lines } = capturingLogger();
    // A key of the wrong length: sealing fails for real.
    const feedback = feedbackFor({ keys: { original: Buffer.alloc(5) }, logger });
    const fetched = mail('Please bring a packed lunch on Friday');
    const result = await processMessage(fetched, deps(feedback, logger));
    expect(result).toMatchObject({ created: true, duplicate: false });
    expect(await store.priorScan(messageKey(fetched.raw))).toEqual({ flagId: null });
    expect(feedback.counts().retainFailures).toBe(1);
    const failure = lines.find((l) => String(l.msg).startsWith('cannot keep a message'));
    expect(failure).toBeDefined();
    expect(JSON.stringify(lines)).not.toContain('@oakfield.sch.uk');
  });
});
