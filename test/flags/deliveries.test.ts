/**
 * The delivery records on PGlite and PostgreSQL: written with the flag (the outbox), held by one
 * copier at a time, finished once, confirmed by a connector, escalated and digested once however
 * many copiers run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, type SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import type { Outbox } from '../../src/flags/types.js';
import { type Backend, flaggedReport, occurrence, pgliteBackend, postgresBackend, silent } from './support.js';

let next = 0;
const messageId = (): string => `<kestrel.test-${++next}-${Math.random().toString(36).slice(2)}@trust.sch.uk>`;

function outbox(recipients: string[], extra: Partial<Outbox> = {}): Outbox {
  return { deliveries: recipients.map((recipient) => ({ recipient, routes: ['monitor'], form: 'full' as const, messageId: messageId() })), ...extra };
}

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('deliveries on $name', ({ name, start }) => {
  let backend: Backend;
  let client: SqlClient;
  let store: SqlFlagStore;
  let second: SqlFlagStore;

  beforeAll(async () => {
    backend = await start();
    const db = await backend.fresh();
    client = db.client;
    store = createSqlFlagStore(client, silent);
    await store.migrate();
    // PostgreSQL: a second connection pool, as a second copier process would have.
    second = db.url ? createSqlFlagStore(openPostgres(db.url, silent), silent) : store;
  });

  afterAll(async () => {
    if (second !== store) await second.close();
    await store?.close();
    await backend?.stop();
  });

  async function newFlag(key: string, box?: Outbox) {
    const result = await store.recordScan(`${name}-${key}`, occurrence(key, 'INBOX', 1), await flaggedReport(key), box);
    return { flagId: result.flagId!, deliveries: result.deliveries };
  }

  it('are written with the new flag, once per recipient, and never for a message seen again', async () => {
    const box = outbox(['monitor@trust.sch.uk', 'dsl@trust.sch.uk'], { sealedOriginal: Buffer.from('sealed') });
    const { flagId, deliveries } = await newFlag('outbox', box);
    expect(deliveries).toHaveLength(2);
    expect(await store.sealedOriginal(flagId)).toEqual(Buffer.from('sealed'));
    const again = await store.recordScan(`${name}-outbox`, occurrence('outbox-2', 'INBOX', 5), await flaggedReport('outbox'), outbox(['monitor@trust.sch.uk']));
    expect(again).toEqual({ flagId, created: false, deliveries: [] });
    const rows = await store.deliveries({ flagId });
    expect(rows.map((d) => [d.recipient, d.status, d.attempts]).sort()).toEqual([
      ['dsl@trust.sch.uk', 'pending', 0],
      ['monitor@trust.sch.uk', 'pending', 0],
    ]);
  });

  it('are held by one copier at a time, and finished only by the holder', async () => {
    const { deliveries } = await newFlag('claim', outbox(['monitor@trust.sch.uk']));
    const id = deliveries[0]!;
    const claims = await Promise.all([store.claimDelivery(id, 60_000), second.claimDelivery(id, 60_000), store.claimDelivery(id, 60_000)]);
    const held = claims.filter((c) => c !== null);
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ id, status: 'sending', attempts: 1, maybeDelivered: false });
    await store.finishDelivery(id, 1, { status: 'pending', error: '451 try later', retryInMs: 60_000 });
    expect(await store.claimDelivery(id, 60_000)).toBeNull(); // not due for a minute
    expect(await store.delivery(id)).toMatchObject({ status: 'pending', lastError: '451 try later', attempts: 1 });
    // A second finish of an attempt that no longer holds it changes nothing...
    await store.finishDelivery(id, 1, { status: 'failed', error: 'stale' });
    expect(await store.delivery(id)).toMatchObject({ status: 'pending', lastError: '451 try later' });
    // ...unless it says the copy went: then it went, and must not be sent again.
    await store.finishDelivery(id, 1, { status: 'sent', response: '250 late' });
    expect(await store.delivery(id)).toMatchObject({ status: 'sent', response: '250 late' });
  });

  it('release the original once every copy is sent, and keep it while one failed', async () => {
    const { flagId, deliveries } = await newFlag('release', outbox(['a@trust.sch.uk', 'b@trust.sch.uk'], { sealedOriginal: Buffer.from('x') }));
    const [a, b] = deliveries as [number, number];
    await store.claimDelivery(a, 60_000);
    await store.finishDelivery(a, 1, { status: 'sent', response: '250 ok' });
    expect(await store.sealedOriginal(flagId)).not.toBeNull();
    await store.claimDelivery(b, 60_000);
    await store.finishDelivery(b, 1, { status: 'failed', error: '550 no such user' });
    expect(await store.sealedOriginal(flagId)).not.toBeNull(); // an operator may retry it
    expect(await store.retryDelivery(b)).toBe(true);
    expect(await store.retryDelivery(b)).toBe(false);
    // The claim token keeps counting; the attempt budget starts again.
    expect(await store.claimDelivery(b, 60_000)).toMatchObject({ attempts: 2, attemptsSinceRetry: 1 });
    await store.finishDelivery(b, 2, { status: 'sent', response: '250 ok' });
    expect(await store.sealedOriginal(flagId)).toBeNull();
    expect((await store.unsentCounts()).failed).toBe(0);
  });

  it('treat a send whose copier died as uncertain, and a copy seen in a mailbox as delivered', async () => {
    const box = outbox(['monitor@trust.sch.uk']);
    const { deliveries } = await newFlag('died', box);
    const id = deliveries[0]!;
    await store.claimDelivery(id, 1); // a lease that runs out at once: the copier "died"
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.expireLeases(0)).toBeGreaterThanOrEqual(1);
    expect(await store.delivery(id)).toMatchObject({ status: 'uncertain' });
    expect(await store.dueDeliveries(1000)).toContainEqual({ id, attempts: 1 });
    expect(await store.confirmCopy(box.deliveries[0]!.messageId)).toBe(true);
    expect(await store.confirmCopy(box.deliveries[0]!.messageId)).toBe(false); // seen again (moved to a folder): counted once
    expect(await store.delivery(id)).toMatchObject({ status: 'sent', confirmedAt: expect.any(Date) });
    expect(await store.claimDelivery(id, 60_000)).toBeNull();
    expect(await store.confirmCopy('<nobody@trust.sch.uk>')).toBe(false);
  });

  it("record a slow attempt's outcome after its lease ran out, but not once a later attempt holds it", async () => {
    const { deliveries } = await newFlag('slow', outbox(['monitor@trust.sch.uk', 'dsl@trust.sch.uk']));
    const [slow, overtaken] = deliveries as [number, number];
    for (const id of deliveries) await store.claimDelivery(id, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.expireLeases(0);
    // The slow relay answers at last: its 250 counts, so the copy is not sent again.
    await store.finishDelivery(slow, 1, { status: 'sent', response: '250 queued' });
    expect(await store.delivery(slow)).toMatchObject({ status: 'sent', response: '250 queued' });
    // Here another copier took the uncertain delivery over before the first one's answer came.
    expect(await store.claimDelivery(overtaken, 60_000)).toMatchObject({ attempts: 2, maybeDelivered: true });
    await store.finishDelivery(overtaken, 1, { status: 'pending', error: 'late and stale', retryInMs: 0 });
    expect(await store.delivery(overtaken)).toMatchObject({ status: 'sending', attempts: 2 });
    // An escalation copy retried after its flag was acknowledged is cancelled, not sent later.
    const { flagId, deliveries: [monitor] } = await newFlag('ack-mid-send', outbox(['monitor@trust.sch.uk'], { escalateAfterMs: 0 }));
    await store.escalateDue(['deputy@trust.sch.uk'], 60_000, messageId);
    const deputy = (await store.deliveries({ flagId })).find((d) => d.recipient === 'deputy@trust.sch.uk')!;
    await store.claimDelivery(deputy.id, 60_000);
    await store.acknowledge(flagId, 'head');
    await store.finishDelivery(deputy.id, 1, { status: 'pending', error: '451 try later', retryInMs: 0 });
    expect(await store.delivery(deputy.id)).toMatchObject({ status: 'cancelled' });
    expect(monitor).toBeDefined();
  });

  it('escalate an unacknowledged urgent flag step by step, and stop when it is acknowledged', async () => {
    const list = ['deputy@trust.sch.uk', 'chair@trust.sch.uk', 'monitor@trust.sch.uk'];
    const { flagId } = await newFlag('escalate', outbox(['monitor@trust.sch.uk'], { escalateAfterMs: 0, sealedOriginal: Buffer.from('x') }));
    const first = await store.escalateDue(list, 0, messageId);
    const mine = async () => (await store.deliveries({ flagId })).filter((d) => d.escalationStep !== null).map((d) => [d.recipient, d.escalationStep]);
    expect(first.length).toBeGreaterThanOrEqual(1);
    expect(await mine()).toEqual([['deputy@trust.sch.uk', 1]]);
    await store.escalateDue(list, 0, messageId);
    // The monitor, third on the list, already has the copy: no second one.
    await store.escalateDue(list, 0, messageId);
    await store.escalateDue(list, 0, messageId);
    expect((await mine()).sort()).toEqual([
      ['chair@trust.sch.uk', 2],
      ['deputy@trust.sch.uk', 1],
    ]);
    expect(await store.sealedOriginal(flagId)).not.toBeNull(); // escalation copies still to send

    const { flagId: acknowledged } = await newFlag('acknowledged', outbox([], { escalateAfterMs: 0 }));
    expect(await store.acknowledge(acknowledged, 'head')).toBe(true);
    await store.escalateDue(list, 0, messageId);
    expect(await store.deliveries({ flagId: acknowledged })).toEqual([]);
    expect(await store.acknowledge(999_999_999, 'head')).toBe(false);
  });

  it('pass over someone who already had the copy in the same step, and cancel escalation copies once acknowledged', async () => {
    const list = ['monitor@trust.sch.uk', 'deputy@trust.sch.uk', 'chair@trust.sch.uk'];
    const { flagId } = await newFlag('pass-over', outbox(['monitor@trust.sch.uk'], { escalateAfterMs: 0, sealedOriginal: Buffer.from('x') }));
    await store.escalateDue(list, 60_000, messageId);
    const escalations = (await store.deliveries({ flagId })).filter((d) => d.escalationStep !== null);
    expect(escalations.map((d) => [d.recipient, d.escalationStep, d.status])).toEqual([['deputy@trust.sch.uk', 2, 'pending']]);
    expect(await store.acknowledge(flagId, 'head')).toBe(true);
    expect(await store.delivery(escalations[0]!.id)).toMatchObject({ status: 'cancelled', lastError: 'not sent: the flag was acknowledged first' });
    // The monitor's own copy still goes; once it has, nothing needs the original.
    const monitor = (await store.deliveries({ flagId })).find((d) => d.recipient === 'monitor@trust.sch.uk')!;
    await store.claimDelivery(monitor.id, 60_000);
    await store.finishDelivery(monitor.id, 1, { status: 'sent', response: '250 ok' });
    expect(await store.sealedOriginal(flagId)).toBeNull();
    expect(await store.escalateDue(['x@trust.sch.uk'], 0, messageId)).toEqual([]);
  });

  it('send the escalation step again to someone whose own copy failed', async () => {
    const { flagId, deliveries: [head] } = await newFlag('failed-then-escalated', outbox(['head@trust.sch.uk'], { escalateAfterMs: 0, sealedOriginal: Buffer.from('x') }));
    await store.claimDelivery(head!, 60_000);
    await store.finishDelivery(head!, 1, { status: 'failed', error: '550 no such user' });
    await store.escalateDue(['head@trust.sch.uk', 'chair@trust.sch.uk'], 60_000, messageId);
    expect(await store.delivery(head!)).toMatchObject({ status: 'pending', escalationStep: 1, attemptsSinceRetry: 0, routes: ['monitor', 'escalation'] });
    expect((await store.deliveries({ flagId })).map((d) => d.recipient)).toEqual(['head@trust.sch.uk']);
  });

  it('close escalations when the list was shortened, releasing the original', async () => {
    const { flagId } = await newFlag('shortened', outbox([], { escalateAfterMs: 0, sealedOriginal: Buffer.from('x') }));
    await store.escalateDue([], 0, messageId);
    expect(await store.sealedOriginal(flagId)).toBeNull();
    expect(await store.escalateDue(['late@trust.sch.uk'], 0, messageId)).toEqual([]);
  });

  it('record a digest once per route and period, however many copiers try', async () => {
    await newFlag('digest', outbox([]));
    const end = new Date(Date.now() + 60_000);
    const startAt = new Date(end.getTime() - 86_400_000);
    const attempts = await Promise.all([
      store.createDigest('ict', startAt, end, ['ict@trust.sch.uk', 'ICT@trust.sch.uk'], messageId),
      second.createDigest('ict', startAt, end, ['ict@trust.sch.uk'], messageId),
    ]);
    const made = attempts.filter((a) => a !== null);
    expect(made).toHaveLength(1);
    expect(made[0]!.deliveries).toHaveLength(1);
    expect(await store.lastDigestEnd('ict')).toEqual(end);
    const digest = await store.digest(made[0]!.digestId);
    expect(digest).toEqual({ route: 'ict', periodStart: startAt, periodEnd: end });
  });
});
