/** Reviewers' suppressions in the store, on PGlite and PostgreSQL: created checked and normalised, active until expired or revoked, hits counted. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reviewer, SuppressionInput } from '../../src/flags/review-types.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { normalisePhrase, SuppressionError } from '../../src/flags/suppressions.js';
import { type Backend, insertMonitor, pgliteBackend, postgresBackend, silent } from './support.js';

const DAY = 86_400_000;

it('normalises matched words: NFKC, lower case, single spaces', () => {
  expect(normalisePhrase('  Ｋｉｌｌ \t MYSELF\n ')).toBe('kill myself');
  expect(normalisePhrase('ﬁne')).toBe('fine');
});

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('suppressions on $name', ({ start }) => {
  let backend: Backend;
  let store: SqlFlagStore;
  let monitor: Reviewer;

  beforeAll(async () => {
    backend = await start();
    const db = await backend.fresh();
    store = createSqlFlagStore(db.client, silent);
    await store.migrate();
    monitor = await insertMonitor(db.client);
  });

  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  const inDays = (days: number): Date => new Date(Date.now() + days * DAY);

  it('are stored with the sender in lower case and the phrase normalised', async () => {
    const s = await store.createSuppression({ rule: 'bullying.targeted_insult', sender: ' Quokka.Sender@Oakfield.sch.uk ', phrase: 'You ARE  so ugly', reason: 'drama club script', expiresAt: inDays(30) }, monitor);
    expect(s).toMatchObject({ rule: 'bullying.targeted_insult', sender: 'quokka.sender@oakfield.sch.uk', phrase: 'you are so ugly', reason: 'drama club script', createdBy: monitor.id, revokedAt: null, hits: 0, lastHitAt: null, flagId: null });
    expect(await store.suppression(s.id)).toEqual(s);
  });

  it('are refused without a reason, without sender and words, or already expired, naming the field', async () => {
    const base: SuppressionInput = { rule: 'profanity.strong', sender: 'a@oakfield.sch.uk', reason: 'ok', expiresAt: inDays(1) };
    const refusal = (input: Partial<SuppressionInput>) => store.createSuppression({ ...base, ...input }, monitor).catch((e: unknown) => e);
    expect(await refusal({ reason: '  ' })).toMatchObject({ field: 'reason' });
    expect(await refusal({ sender: null, phrase: ' ' })).toMatchObject({ field: 'phrase' });
    expect(await refusal({ sender: 'not an address' })).toMatchObject({ field: 'sender' });
    expect(await refusal({ rule: '' })).toMatchObject({ field: 'rule' });
    const expired = await refusal({ expiresAt: inDays(-1) });
    expect(expired).toBeInstanceOf(SuppressionError);
    expect(expired).toMatchObject({ field: 'expiresAt' });
  });

  it('are active until they expire or are revoked, and revoked once', async () => {
    const s = await store.createSuppression({ rule: 'profanity.strong', phrase: 'shit', reason: 'quoting a book title', expiresAt: inDays(10) }, monitor);
    expect((await store.activeSuppressions(new Date())).map((x) => x.id)).toContain(s.id);
    expect((await store.activeSuppressions(inDays(11))).map((x) => x.id)).not.toContain(s.id);
    expect(await store.revokeSuppression(s.id, monitor)).toBe(true);
    expect(await store.revokeSuppression(s.id, monitor)).toBe(false);
    expect(await store.revokeSuppression(999_999, monitor)).toBe(false);
    expect((await store.activeSuppressions(new Date())).map((x) => x.id)).not.toContain(s.id);
    expect((await store.suppressions({ includeInactive: false })).map((x) => x.id)).not.toContain(s.id);
    const all = await store.suppressions({ includeInactive: true });
    expect(all.find((x) => x.id === s.id)?.revokedAt).toBeInstanceOf(Date);
    // Newest first.
    expect(all.map((x) => x.id)).toEqual([...all.map((x) => x.id)].sort((a, b) => b - a));
  });

  it('count the findings they dropped and when they last did', async () => {
    const s = await store.createSuppression({ rule: 'profanity.strong', sender: 'b@oakfield.sch.uk', reason: 'r', expiresAt: inDays(5) }, monitor);
    const at = new Date('2026-11-21T10:00:00Z');
    await store.countSuppressionHits(new Map([[s.id, 2]]), at);
    await store.countSuppressionHits(new Map([[s.id, 1]]), new Date('2026-11-20T10:00:00Z'));
    expect(await store.suppression(s.id)).toMatchObject({ hits: 3, lastHitAt: at });
  });
});
