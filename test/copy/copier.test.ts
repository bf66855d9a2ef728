/**
 * The copier against a real SMTP relay (smtp-server) and a real store (PGlite): a flagged message
 * seen in several mailboxes is copied once per recipient with the original attached unchanged; a
 * refused recipient is recorded and raised, a deferral retried, an unanswered send reconciled
 * before it is repeated; urgent flags escalate until acknowledged; digests go out once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import { checkKestrelCopy } from '../../src/connect/copy-guard.js';
import { Copier } from '../../src/copy/copier.js';
import { copyKeys } from '../../src/copy/keys.js';
import { planOutbox } from '../../src/copy/plan.js';
import { openCopyTransports, type CopyTransports } from '../../src/copy/transport/transports.js';
import { openPglite, type SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { createMetrics, type KestrelMetrics } from '../../src/ops/metrics.js';
import { processMessage } from '../../src/queue/process-message.js';
import { createScanner } from '../../src/scan/pipeline.js';
import { startDovecot, type DovecotServer } from '../harness/dovecot.js';
import { startSmtpServer, type SmtpTestServer } from '../harness/smtp.js';
import { metricValue, sleep } from '../helpers/wait.js';
import { seedPglite } from '../flags/support.js';

const silent = pino({ level: 'silent' });
const TRUST = 'oakfield.sch.uk';

function configFor(smtp: SmtpTestServer, dataDir: string, extra: string, timeoutSeconds: number): KestrelConfig {
  return parseConfig(
    join(dataDir, 'kestrel.yaml'),
    `trust:
  name: Oakfield Trust
  domains: [${TRUST}]
  pupils: ["*@pupils.${TRUST}"]
  academies: [{ name: Oakfield Academy, patterns: ["*@pupils.${TRUST}"] }]
builtinLexicons: false
lexicons: [${join(process.cwd(), 'test/fixtures/lexicons')}]
store: { dataDir: ${dataDir} }
delivery:
  from: "Kestrel <kestrel@${TRUST}>"
  reviewUrl: https://kestrel.${TRUST}/
  smtp: { host: 127.0.0.1, port: ${smtp.port}, tls: none, timeoutSeconds: ${timeoutSeconds} }
  backoffSeconds: 1
  attempts: 3
  uncertainResendMinutes: 0
  settleSeconds: 0
${extra}routes:
  monitor:
    categories: ["safety.*"]
    to: [head@${TRUST}]
    academies: { Oakfield Academy: [dsl@${TRUST}] }
  urgent:
    categories: ["*"]
    minSeverity: urgent
    to: [head@${TRUST}, oncall@${TRUST}]
  ict:
    categories: [chain_mail, profanity]
    to: [ict@${TRUST}]
    copy: digest
`,
  );
}

function mail(id: string, body: string, subject = 'tonight'): Buffer {
  return Buffer.from(
    [`From: Lily Morgan <22lmorgan@pupils.${TRUST}>`, `To: 23sokafor@pupils.${TRUST}`, `Subject: ${subject}`, 'Date: Sun, 09 Mar 2025 22:41:00 +0000', `Message-ID: <${id}@pupils.${TRUST}>`, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n'),
  );
}

const URGENT_BODY = 'everyone would be better off without me. i just want to kill myself tonight';

/** The attachment of a copy, decoded: the original as the copier sent it. */
async function attachedOriginal(raw: Buffer): Promise<Buffer | undefined> {
  const parsed = await simpleParser(raw);
  return parsed.attachments.find((a) => a.contentType === 'message/rfc822')?.content;
}

interface Rig {
  config: KestrelConfig;
  store: SqlFlagStore;
  /** The store's database, for a test to put a record where a crash would have left it. */
  sql: SqlClient;
  metrics: KestrelMetrics;
  transports: CopyTransports;
  copier: Copier;
  /** Scans and records a message seen in a mailbox, as a worker would; returns the new deliveries. */
  see(raw: Buffer, account: string, uid: number): Promise<number[]>;
  /** Delivers everything due, as a copier's sweep would. */
  deliverDue(): Promise<void>;
  close(): Promise<void>;
}

/** A relay timeout of 1 s only where a test wants one: on a loaded machine a slow reply would make a copy uncertain. */
async function rig(smtp: SmtpTestServer, extra = '', timeoutSeconds = 10): Promise<Rig> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kestrel-copier-'));
  const config = configFor(smtp, dataDir, extra, timeoutSeconds);
  seedPglite(dataDir);
  const sql = await openPglite(join(dataDir, 'pglite'));
  const store = createSqlFlagStore(sql, silent);
  await store.migrate();
  const metrics = createMetrics();
  const keys = copyKeys(config);
  const transports = openCopyTransports(config.delivery, silent);
  const copier = new Copier({ config, store, transports, keys, metrics, logger: silent });
  const scanner = createScanner(config);
  return {
    config,
    store,
    sql,
    metrics,
    transports,
    copier,
    async see(raw, account, uid) {
      let created: number[] = [];
      await processMessage(
        { account, folder: 'INBOX', uidValidity: '1', uid, role: 'inbox', raw },
        { config, store, metrics, logger: silent, scan: (r) => scanner.scan(r), spread: null, planOutbox: (report, r) => planOutbox(report, r, config, keys.original), onDeliveries: async (ids) => void (created = ids) },
      );
      return created;
    },
    async deliverDue() {
      for (const { id } of await copier.housekeeping()) await copier.deliver(id);
    },
    async close() {
      await transports.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describe('copier', () => {
  let smtp: SmtpTestServer;
  let r: Rig | undefined;

  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(async () => {
    await smtp?.stop();
  });
  afterEach(async () => {
    await r?.close();
    r = undefined;
    smtp.behave({});
    smtp.received.length = 0;
  });

  it('sends one copy per recipient for a message seen in three mailboxes, with the original unchanged', async () => {
    r = await rig(smtp);
    const raw = mail('three-boxes', URGENT_BODY, '<script>alert(1)</script>');
    const created = await r.see(raw, 'pupil-22lmorgan', 1);
    expect(await r.see(raw, 'pupil-23sokafor', 7)).toEqual([]);
    expect(await r.see(raw, 'head-of-year', 3)).toEqual([]);
    expect(created).toHaveLength(3); // head (monitor + urgent), the academy DSL, on-call (urgent)
    for (const id of created) expect(await r.copier.deliver(id)).toBe('sent');
    for (const id of created) expect(await r.copier.deliver(id)).toBe('not due');
    await r.deliverDue();

    expect(smtp.received.map((m) => m.to).flat().sort()).toEqual([`dsl@${TRUST}`, `head@${TRUST}`, `oncall@${TRUST}`]);
    for (const copy of smtp.received) {
      expect(copy.from).toBe(`kestrel@${TRUST}`);
      expect((await attachedOriginal(copy.raw))?.equals(raw)).toBe(true);
      // Its own signed header: a connector watching the monitor's mailbox skips it.
      expect(checkKestrelCopy(copy.raw, copyKeys(r.config).header).kind).toBe('verified');
      const parsed = await simpleParser(copy.raw);
      expect(parsed.subject).toMatch(/^\[Kestrel URGENT\] Flag \d+: safety\.self_harm, urgent$/);
      expect(parsed.text).toContain('pupil-23sokafor');
      expect(parsed.html).not.toMatch(/<script/i);
    }
    const flagId = (await r.store.deliveries({ flagId: undefined })).find((d) => d.id === created[0])!.flagId!;
    expect((await r.store.deliveries({ flagId })).map((d) => d.status)).toEqual(['sent', 'sent', 'sent']);
    expect(await r.store.sealedOriginal(flagId)).toBeNull(); // nothing more will need it
    expect(await metricValue(r.metrics, 'kestrel_copies_total', { outcome: 'sent' })).toBe(3);

    // A copy that bounces later and is retried goes without the original, rather than not at all.
    const dsl = (await r.store.deliveries({ flagId })).find((d) => d.recipient === `dsl@${TRUST}`)!;
    expect(await r.store.bounceCopy(dsl.messageId, dsl.recipient, 'bounced after the relay accepted it (status 5.2.2)')).toBe(dsl.id);
    expect(await r.store.retryDelivery(dsl.id)).toBe(true);
    await r.deliverDue();
    const resent = await simpleParser(smtp.received.at(-1)!.raw);
    expect(resent.attachments).toEqual([]);
    expect(resent.text?.replace(/\s+/g, ' ')).toMatch(/The original message is not attached: Kestrel keeps it only until every copy has gone/);
  });

  it('records a refused recipient as failed and raises it, without holding back the others', async () => {
    r = await rig(smtp);
    smtp.behave({ rejectRecipients: [`oncall@${TRUST}`] });
    const created = await r.see(mail('refused', URGENT_BODY), 'pupil-22lmorgan', 2);
    const outcomes = await Promise.all(created.map((id) => r!.copier.deliver(id)));
    expect(outcomes.sort()).toEqual(['failed', 'sent', 'sent']);
    const [failed] = await r.store.deliveries({ status: 'failed' });
    expect(failed).toMatchObject({ recipient: `oncall@${TRUST}`, attempts: 1 });
    expect(failed!.lastError).toMatch(/550/);
    await r.copier.housekeeping();
    expect(await metricValue(r.metrics, 'kestrel_deliveries', { status: 'failed' })).toBe(1);
    expect(await metricValue(r.metrics, 'kestrel_copies_total', { outcome: 'failed' })).toBe(1);
    // Fixed at the relay, an operator retries it.
    smtp.behave({});
    expect(await r.store.retryDelivery(failed!.id)).toBe(true);
    await r.deliverDue();
    expect(await r.store.delivery(failed!.id)).toMatchObject({ status: 'sent' });
  });

  it('retries a deferred copy with backoff, and gives up after the configured attempts', async () => {
    r = await rig(smtp);
    smtp.behave({ temporaryFailures: 1 });
    const [first, ...rest] = await r.see(mail('deferred', 'i just want to die. everyone would be better off without me'), 'pupil-22lmorgan', 3);
    expect(rest.length).toBeGreaterThanOrEqual(0);
    expect(await r.copier.deliver(first!)).toBe('retry');
    expect(await r.copier.deliver(first!)).toBe('not due'); // backoff: 1 s
    await sleep(1_100);
    expect(await r.copier.deliver(first!)).toBe('sent');

    smtp.behave({ temporaryFailures: 100 });
    const [second] = await r.see(mail('deferred-for-ever', URGENT_BODY), 'pupil-22lmorgan', 4);
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      outcomes.push(await r.copier.deliver(second!));
      await sleep(2_100);
    }
    expect(outcomes).toEqual(['retry', 'retry', 'failed']);
    expect((await r.store.delivery(second!))!.lastError).toMatch(/gave up after 3 attempts/);
  });

  it('does not send again a copy the relay took without answering once it is seen delivered', async () => {
    r = await rig(smtp, '', 1);
    smtp.behave({ replyDelayMs: 3_000 });
    const created = await r.see(mail('unanswered', URGENT_BODY), 'pupil-22lmorgan', 5);
    const id = created[0]!;
    expect(await r.copier.deliver(id)).toBe('uncertain');
    expect(smtp.received).toHaveLength(1); // the relay did take it
    smtp.behave({});
    const delivery = (await r.store.delivery(id))!;
    // A connector watching the recipient's mailbox sees it arrive.
    expect(await r.store.confirmCopy(delivery.messageId)).toBe(true);
    expect(await r.copier.deliver(id)).toBe('not due');
    await r.deliverDue();
    expect(smtp.received.filter((m) => m.to.includes(delivery.recipient))).toHaveLength(1);

    // Nobody sees the next one arrive: after the wait it is sent again, with the same Message-ID.
    smtp.behave({ replyDelayMs: 3_000 });
    const [other] = await r.see(mail('unanswered-unseen', URGENT_BODY), 'pupil-22lmorgan', 6);
    expect(await r.copier.deliver(other!)).toBe('uncertain');
    smtp.behave({});
    expect(await r.copier.deliver(other!)).toBe('sent');
    const resent = (await r.store.delivery(other!))!;
    expect(resent.resentAfterUncertain).toBe(true);
    const ids = await Promise.all(smtp.received.filter((m) => m.to.includes(resent.recipient)).slice(-2).map(async (m) => (await simpleParser(m.raw)).messageId));
    expect(ids).toEqual([resent.messageId, resent.messageId]);
  });

  it('escalates an unacknowledged urgent flag to the next address, and stops once acknowledged', async () => {
    r = await rig(smtp, `  escalation: { afterMinutes: 0.002, to: [deputy@${TRUST}, chair@${TRUST}] }\n`);
    const created = await r.see(mail('escalate', URGENT_BODY), 'pupil-22lmorgan', 8);
    for (const id of created) await r.copier.deliver(id);
    await sleep(200);
    await r.deliverDue();
    const escalated = smtp.received.filter((m) => m.to.includes(`deputy@${TRUST}`));
    expect(escalated).toHaveLength(1);
    const parsed = await simpleParser(escalated[0]!.raw);
    expect(parsed.subject).toMatch(/^\[Kestrel URGENT, escalated\] Flag \d+/);
    expect((await attachedOriginal(escalated[0]!.raw))?.equals(mail('escalate', URGENT_BODY))).toBe(true);

    const flagId = Number(parsed.headers.get('x-kestrel-flag'));
    expect(await r.store.acknowledge(flagId, 'head')).toBe(true);
    await sleep(200);
    await r.deliverDue();
    expect(smtp.received.filter((m) => m.to.includes(`chair@${TRUST}`))).toHaveLength(0);
    expect(await r.store.sealedOriginal(flagId)).toBeNull();
  });

  it('sends the daily digest once, counting the flags of its route', async () => {
    r = await rig(smtp);
    await r.see(mail('digest-1', 'what the fuck is this', 'hello'), 'pupil-22lmorgan', 9);
    await r.see(mail('digest-2', 'this is shit', 'hello'), 'pupil-22lmorgan', 10);
    const tomorrow = new Date(Date.now() + 86_400_000);
    for (let i = 0; i < 2; i++) for (const { id } of await r.copier.housekeeping(tomorrow)) await r.copier.deliver(id);
    const digests = smtp.received.filter((m) => m.to.includes(`ict@${TRUST}`));
    expect(digests).toHaveLength(1);
    const parsed = await simpleParser(digests[0]!.raw);
    expect(parsed.subject).toMatch(/^\[Kestrel\] Daily digest for ict: 2 flags/);
    expect(parsed.text).toContain(`https://kestrel.${TRUST}/flags/`);
  });

  describe('by IMAP APPEND', () => {
    let dovecot: DovecotServer;
    beforeAll(async () => {
      dovecot = await startDovecot({ users: [{ name: 'monitor', password: 'secret' }] });
    });
    afterAll(async () => {
      await dovecot?.stop();
    });

    it('appends the copy to the monitor folder, and finds it there rather than appending it again after an uncertain attempt', async () => {
      r = await rig(smtp, `  imap:\n    - { address: head@${TRUST}, host: 127.0.0.1, port: ${dovecot.port}, tls: none, user: monitor, password: { value: secret }, folder: Kestrel }\n`);
      const created = await r.see(mail('appended', URGENT_BODY), 'pupil-22lmorgan', 11);
      for (const id of created) await r.copier.deliver(id);
      const head = (await r.store.deliveries()).find((d) => d.recipient === `head@${TRUST}`)!;
      expect(head.status).toBe('sent');
      expect(smtp.received.some((m) => m.to.includes(`head@${TRUST}`))).toBe(false); // not by SMTP

      // As if the copier had died after the APPEND and before recording it.
      await r.sql.query(`UPDATE deliveries SET status = 'uncertain', maybe_delivered = true, due_at = now() WHERE id = $1`, [head.id]);
      expect(await r.copier.deliver(head.id)).toBe('sent');
      expect(await r.store.delivery(head.id)).toMatchObject({ status: 'sent', response: 'found in the recipient mailbox after an uncertain attempt', resentAfterUncertain: false });
      const client = await dovecot.client('monitor');
      try {
        const box = await client.mailboxOpen('Kestrel');
        expect(box.exists).toBe(1);
        const fetched = await client.fetchOne('1', { source: true, flags: true });
        expect(fetched && fetched.flags?.has('\\Seen')).toBe(false);
        expect((await attachedOriginal(fetched ? fetched.source! : Buffer.alloc(0)))?.equals(mail('appended', URGENT_BODY))).toBe(true);
      } finally {
        await client.logout();
      }
    });
  });
});
