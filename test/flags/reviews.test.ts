/**
 * The review queries on PGlite and PostgreSQL, over flags the real scanner raised: what each role's
 * scope lets a reviewer see, every filter, paging and grouping, the outcome workflow with its
 * refusals and its row lock, acknowledgement, and per-rule precision.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlagNotFoundError, OutcomeError } from '../../src/flags/reviews.js';
import type { AuditActor, FlagFilter, FlagScope, Reviewer, Role } from '../../src/flags/review-types.js';
import { Params, scopeCondition } from '../../src/flags/scope-sql.js';
import { openPostgres, type SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import type { Outbox } from '../../src/flags/types.js';
import { type Backend, cleanReport, flaggedReportOf, type MailParts, occurrence, pgliteBackend, postgresBackend, silent } from './support.js';

const OAK = 'Oakfield Primary';
const RIV = 'Riverside Academy';
const SELF_HARM = 'i just want to kill myself tonight';

const ALL: FlagScope = { kind: 'all' };
const OAK_DSL: FlagScope = { kind: 'academy', academy: OAK };
const RIV_DSL: FlagScope = { kind: 'academy', academy: RIV };
const DPO: FlagScope = { kind: 'category_prefix', prefix: 'personal_data' };
const EVERYTHING = { offset: 0, limit: 200 };

/** The corpus of the read-only tests, oldest first; each is created an hour after the one before. */
const CORPUS = {
  harmA: { from: '22lmorgan@pupils.oakfield.sch.uk', to: ['23sokafor@pupils.oakfield.sch.uk'], subject: 'tonight', body: SELF_HARM },
  // The same words from another sender, differently written: near-identical.
  harmB: { from: '22jbloggs@pupils.oakfield.sch.uk', to: ['23sokafor@pupils.oakfield.sch.uk'], subject: 'sorry', body: 'I just want to KILL  MYSELF tonight' },
  harmC: { from: '10kdoe@pupils.riverside.sch.uk', to: ['10aking@pupils.riverside.sch.uk'], subject: 'tonight', body: SELF_HARM },
  bully: { from: '22lmorgan@pupils.oakfield.sch.uk', to: ['10aking@pupils.riverside.sch.uk'], subject: 'you', body: 'you are so ugly, everyone hates you' },
  dobA: { from: 'j.smith@staff.oakfield.sch.uk', to: ['parent.one@gmail.com'], subject: 'form', body: 'Her date of birth is 12/03/2011.' },
  dobB: { from: 'k.jones@staff.oakfield.sch.uk', to: ['parent_two@gmail.com'], subject: 'form', body: 'His date of birth is 04/07/2012.' },
  die: { from: '22lmorgan@pupils.oakfield.sch.uk', to: ['23sokafor@pupils.oakfield.sch.uk'], subject: 'bye', body: 'i want to die' },
} satisfies Record<string, Omit<MailParts, 'id'>>;
type Name = keyof typeof CORPUS;

/** The audit actor of an outcome by `who`. */
const by = (who: Reviewer): AuditActor => ({ actorId: who.id, actor: who.username, role: who.role, ip: null });
const NAMES = Object.keys(CORPUS) as Name[];

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('review queries on $name', ({ start }) => {
  let backend: Backend;
  const opened: SqlFlagStore[] = [];

  /** A migrated store on a database of its own, and (PostgreSQL) a second pool on it, as a second UI process would have. */
  async function openStore(): Promise<{ store: SqlFlagStore; second: SqlFlagStore; client: SqlClient }> {
    const db = await backend.fresh();
    const store = createSqlFlagStore(db.client, silent);
    await store.migrate();
    const second = db.url ? createSqlFlagStore(openPostgres(db.url, silent), silent) : store;
    opened.push(store);
    if (second !== store) opened.push(second);
    return { store, second, client: db.client };
  }

  async function addReviewer(client: SqlClient, username: string, role: Role, academy: string | null = null): Promise<Reviewer> {
    const { rows } = await client.query<{ id: unknown }>('INSERT INTO users (username, display_name, role, academy) VALUES ($1, $2, $3, $4) RETURNING id', [
      username,
      username,
      role,
      academy,
    ]);
    return { id: Number(rows[0]!.id), username, displayName: username, role, academy };
  }

  let tag = 0;
  async function record(store: SqlFlagStore, parts: Omit<MailParts, 'id'>, outbox?: Outbox): Promise<number> {
    const id = `m${++tag}`;
    const result = await store.recordScan(id, occurrence(parts.to[0]!, 'INBOX', tag), await flaggedReportOf({ id, ...parts }), outbox);
    return result.flagId!;
  }

  beforeAll(async () => {
    backend = await start();
  });

  afterAll(async () => {
    for (const store of opened.reverse()) await store.close();
    await backend?.stop();
  });

  describe('lists', () => {
    let store: SqlFlagStore;
    let client: SqlClient;
    const ids = {} as Record<Name, number>;
    const newestFirst = (...names: Name[]): number[] => names.map((n) => ids[n]).sort((a, b) => b - a);
    const listed = async (scope: FlagScope, filter: FlagFilter = {}): Promise<number[]> => (await store.listFlags(scope, filter, EVERYTHING, { grouped: false })).items.map((i) => i.id);

    beforeAll(async () => {
      ({ store, client } = await openStore());
      for (const [hour, name] of NAMES.entries()) {
        ids[name] = await record(store, CORPUS[name]);
        await client.query('UPDATE flags SET created_at = $2 WHERE id = $1', [ids[name], new Date(Date.UTC(2025, 2, 1, 10 + hour)).toISOString()]);
      }
    });

    it('keep the subject, the academies of every party and a group key with each flag (and no subject for clean mail)', async () => {
      const flag = await store.reviewFlag(ids.bully, ALL);
      expect(flag).toMatchObject({ id: ids.bully, subject: 'you', academies: [OAK, RIV], status: 'new', closedAt: null, acknowledgedAt: null, groupSize: 1 });
      expect(flag!.groupKey).toMatch(/^[0-9a-f]{64}$/);
      expect(flag!.report.subject).toBe('you');
      expect(flag!.report.findings.map((f) => f.rule)).toEqual(['bullying.targeted_insult', 'bullying.exclusion']);
      expect((await store.reviewFlag(ids.dobA, ALL))!.academies).toEqual([]);
      expect(await cleanReport('clean')).not.toHaveProperty('subject');
    });

    it('carry what a list row shows', async () => {
      const { items } = await store.listFlags(ALL, { categories: ['safety.bullying'] }, EVERYTHING);
      expect(items).toEqual([
        {
          id: ids.bully,
          createdAt: new Date(Date.UTC(2025, 2, 1, 13)),
          messageDate: new Date('2025-03-09T22:41:00Z'),
          subject: 'you',
          direction: 'internal',
          severity: 'moderate',
          urgent: false,
          categories: ['safety.bullying'],
          rules: ['bullying.targeted_insult', 'bullying.exclusion'],
          status: 'new',
          from: { address: '22lmorgan@pupils.oakfield.sch.uk', role: 'pupil', academy: OAK },
          recipientCount: 1,
          academies: [OAK, RIV],
          acknowledgedAt: null,
          groupKey: expect.stringMatching(/^[0-9a-f]{64}$/),
          groupSize: 1,
        },
      ]);
    });

    it('show a DSL only their academy’s flags, a DPO only personal-data flags, and nothing to a role without flags', async () => {
      expect(await listed(ALL)).toEqual(newestFirst(...NAMES));
      expect(await listed(OAK_DSL)).toEqual(newestFirst('harmA', 'harmB', 'bully', 'die'));
      expect(await listed(RIV_DSL)).toEqual(newestFirst('harmC', 'bully'));
      expect(await listed(DPO)).toEqual(newestFirst('dobA', 'dobB'));
      expect(await store.listFlags({ kind: 'none' }, {}, EVERYTHING)).toEqual({ items: [], total: 0 });
      // A filter narrows the scope, never widens it.
      expect(await listed(OAK_DSL, { academy: RIV })).toEqual([ids.bully]);
      expect(await listed(DPO, { categories: ['safety.*'] })).toEqual([]);
    });

    it('select a scope’s flags with the one scope condition the list and the dashboard share', async () => {
      for (const scope of [ALL, OAK_DSL, RIV_DSL, DPO, { kind: 'none' } as const]) {
        const params = new Params();
        const { rows } = await client.query<{ id: unknown }>(`SELECT f.id FROM flags f WHERE ${scopeCondition(scope, params, 'f')} ORDER BY f.created_at DESC, f.id DESC`, params.values);
        const ids = rows.map((r) => Number(r.id));
        expect(ids).toEqual(await listed(scope));
        const week = { now: new Date(Date.UTC(2025, 2, 2)), weeks: 1, timeZone: 'Europe/London' };
        expect((await store.flagStats(scope, week)).total).toBe(ids.length);
      }
    });

    it('open a flag only within scope', async () => {
      expect(await store.reviewFlag(ids.harmC, RIV_DSL)).toMatchObject({ id: ids.harmC });
      expect(await store.reviewFlag(ids.harmC, OAK_DSL)).toBeNull();
      expect(await store.reviewFlag(ids.harmA, DPO)).toBeNull();
      expect(await store.reviewFlag(ids.dobA, DPO)).toMatchObject({ id: ids.dobA });
      expect(await store.reviewFlag(ids.dobA, OAK_DSL)).toBeNull();
      expect(await store.reviewFlag(ids.harmA, { kind: 'none' })).toBeNull();
      expect(await store.reviewFlag(987654, ALL)).toBeNull();
      // The group's size counts what the scope covers.
      expect((await store.reviewFlag(ids.harmA, ALL))!.groupSize).toBe(3);
      expect((await store.reviewFlag(ids.harmA, OAK_DSL))!.groupSize).toBe(2);
    });

    it('filter by category, exact or prefix.*, with LIKE wildcards taken literally', async () => {
      expect(await listed(ALL, { categories: ['safety.bullying'] })).toEqual([ids.bully]);
      expect(await listed(ALL, { categories: ['safety.*'] })).toEqual(newestFirst('harmA', 'harmB', 'harmC', 'bully', 'die'));
      expect(await listed(ALL, { categories: ['personal_data.*', 'safety.bullying'] })).toEqual(newestFirst('dobA', 'dobB', 'bully'));
      expect(await listed(ALL, { categories: ['safety'] })).toEqual([]);
      expect(await listed(ALL, { categories: ['%.*'] })).toEqual([]);
      expect(await listed(ALL, { categories: ['safety_self_harm'] })).toEqual([]);
      expect(await listed(ALL, { categories: ['s_fety.*'] })).toEqual([]);
    });

    it('filter by minimum severity, academy, status, date, rule and group', async () => {
      expect(await listed(ALL, { minSeverity: 'severe' })).toEqual(newestFirst('harmA', 'harmB', 'harmC', 'dobA', 'dobB', 'die'));
      expect(await listed(ALL, { minSeverity: 'urgent' })).toEqual(newestFirst('harmA', 'harmB', 'harmC', 'die'));
      expect(await listed(ALL, { minSeverity: 'minor' })).toHaveLength(NAMES.length);
      expect(await listed(ALL, { academy: RIV })).toEqual(newestFirst('harmC', 'bully'));
      expect(await listed(ALL, { statuses: ['new'] })).toHaveLength(NAMES.length);
      expect(await listed(ALL, { statuses: ['in_review', 'escalated'] })).toEqual([]);
      const at = (hour: number): Date => new Date(Date.UTC(2025, 2, 1, hour));
      expect(await listed(ALL, { since: at(12), until: at(14) })).toEqual(newestFirst('harmC', 'bully'));
      expect(await listed(ALL, { since: at(15) })).toEqual(newestFirst('dobB', 'die'));
      expect(await listed(ALL, { until: at(11) })).toEqual([ids.harmA]);
      expect(await listed(ALL, { rule: 'bullying.exclusion' })).toEqual([ids.bully]);
      expect(await listed(ALL, { rule: 'self_harm.intent' })).toEqual(newestFirst('harmA', 'harmB', 'harmC', 'die'));
      const group = (await store.reviewFlag(ids.harmA, ALL))!.groupKey;
      expect(await listed(ALL, { group })).toEqual(newestFirst('harmA', 'harmB', 'harmC'));
      expect(await listed(ALL, { categories: ['safety.*'], sender: 'lmorgan', minSeverity: 'urgent' })).toEqual(newestFirst('harmA', 'die'));
    });

    it('filter by sender and recipient substrings, case-insensitively, with % and _ taken literally', async () => {
      expect(await listed(ALL, { sender: 'LMorgan' })).toEqual(newestFirst('harmA', 'bully', 'die'));
      expect(await listed(ALL, { sender: '@staff.' })).toEqual(newestFirst('dobA', 'dobB'));
      expect(await listed(ALL, { sender: '%' })).toEqual([]);
      expect(await listed(ALL, { sender: '_' })).toEqual([]);
      expect(await listed(ALL, { recipient: 'GMAIL.com' })).toEqual(newestFirst('dobA', 'dobB'));
      expect(await listed(ALL, { recipient: '_' })).toEqual([ids.dobB]);
      expect(await listed(ALL, { recipient: 'riverside' })).toEqual(newestFirst('harmC', 'bully'));
      expect(await listed(ALL, { recipient: '%' })).toEqual([]);
    });

    it('treat filter text as values, never as SQL', async () => {
      expect(await listed(ALL, { sender: "x' OR '1'='1" })).toEqual([]);
      expect(await listed(ALL, { rule: "'; DROP TABLE flags; --" })).toEqual([]);
      expect(await listed(ALL, { academy: "' OR TRUE --" })).toEqual([]);
      expect(await listed(ALL, { group: "x' OR 'a'='a" })).toEqual([]);
      expect(await listed(ALL)).toHaveLength(NAMES.length);
      // Fields of a form left blank filter nothing.
      expect(await listed(ALL, { categories: [''], academy: '', sender: '', recipient: '', rule: '', group: '' })).toHaveLength(NAMES.length);
      await expect(store.listFlags(ALL, { minSeverity: 'critical' as never }, EVERYTHING)).rejects.toThrow(/^severity: /);
      await expect(store.listFlags(ALL, { statuses: ['closed' as never] }, EVERYTHING)).rejects.toThrow(/^status: /);
      await expect(store.listFlags(ALL, { since: new Date('not a date') }, EVERYTHING)).rejects.toThrow(/^since: /);
    });

    it('page newest first, with the total of every page', async () => {
      const pages = [];
      for (const offset of [0, 3, 6, 9]) pages.push(await store.listFlags(ALL, {}, { offset, limit: 3 }));
      expect(pages.map((p) => p.total)).toEqual([7, 7, 7, 7]);
      expect(pages.map((p) => p.items.map((i) => i.id))).toEqual([
        newestFirst('die', 'dobB', 'dobA'),
        newestFirst('bully', 'harmC', 'harmB'),
        [ids.harmA],
        [],
      ]);
      // A page from a URL is made sensible: a negative offset starts at 0, a limit below 1 is 1.
      expect((await store.listFlags(ALL, {}, { offset: -5, limit: 0 })).items.map((i) => i.id)).toEqual([ids.die]);
    });

    it('group near-identical flags from different senders into their newest, counting what the filter and scope cover', async () => {
      const grouped = await store.listFlags(ALL, {}, EVERYTHING, { grouped: true });
      expect(grouped.total).toBe(4);
      expect(grouped.items.map((i) => [i.id, i.groupSize])).toEqual([
        [ids.die, 1],
        [ids.dobB, 2], // dates of birth differ, masked: the rule alone groups them
        [ids.bully, 1],
        [ids.harmC, 3], // the same words from three senders, differently cased and spaced
      ]);
      const inOakfield = await store.listFlags(OAK_DSL, {}, EVERYTHING, { grouped: true });
      expect(inOakfield.items.map((i) => [i.id, i.groupSize])).toEqual([
        [ids.die, 1],
        [ids.bully, 1],
        [ids.harmB, 2],
      ]);
      expect(inOakfield.total).toBe(3);
      const filtered = await store.listFlags(ALL, { sender: 'jbloggs' }, EVERYTHING, { grouped: true });
      expect(filtered.items.map((i) => [i.id, i.groupSize])).toEqual([[ids.harmB, 1]]);
      const paged = await store.listFlags(ALL, {}, { offset: 2, limit: 1 }, { grouped: true });
      expect(paged).toMatchObject({ total: 4, items: [{ id: ids.bully }] });
      // Ungrouped rows still say how big their group is.
      const all = await store.listFlags(ALL, {}, EVERYTHING);
      expect(all.items.find((i) => i.id === ids.harmA)?.groupSize).toBe(3);
      expect(new Set(all.items.filter((i) => i.id === ids.harmA || i.id === ids.die).map((i) => i.groupKey)).size).toBe(2);
    });

    it('cap a page at 200 flags', async () => {
      const copies = `SELECT 'copy-' || n, direction, severity, urgent, categories, routes, recipients, problems, duration_ms, 'cap-test'
                      FROM flags, generate_series(1, 230) AS n WHERE id = $1`;
      await client.query(`INSERT INTO flags (message_key, direction, severity, urgent, categories, routes, recipients, problems, duration_ms, group_key) ${copies}`, [ids.harmA]);
      try {
        const page = await store.listFlags(ALL, { group: 'cap-test' }, { offset: 0, limit: 1000 });
        expect(page.items).toHaveLength(200);
        expect(page.total).toBe(230);
        expect((await store.listFlags(ALL, { group: 'cap-test' }, { offset: 0, limit: 1000 }, { grouped: true })).items).toEqual([expect.objectContaining({ groupSize: 230 })]);
      } finally {
        await client.query("DELETE FROM flags WHERE group_key = 'cap-test'");
      }
    });
  });


  describe('outcomes', () => {
    let store: SqlFlagStore;
    let second: SqlFlagStore;
    let client: SqlClient;
    let monitor: Reviewer;
    let oakDsl: Reviewer;
    let rivDsl: Reviewer;

    beforeAll(async () => {
      ({ store, second, client } = await openStore());
      monitor = await addReviewer(client, 'mona', 'monitor');
      oakDsl = await addReviewer(client, 'olive', 'dsl', OAK);
      rivDsl = await addReviewer(client, 'rory', 'dsl', RIV);
    });

    it('move a flag through review, escalation and closing, and reopen it, keeping the history', async () => {
      const id = await record(store, CORPUS.harmA);
      const first = await store.recordOutcome(id, ALL, monitor, { status: 'in_review', note: '  looking into it ' }, by(monitor));
      expect(first).toMatchObject({ flagId: id, reviewer: 'mona', fromStatus: 'new', status: 'in_review', escalatedTo: [], note: 'looking into it' });
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ status: 'in_review', closedAt: null, statusChangedAt: expect.any(Date) });

      await store.recordOutcome(id, OAK_DSL, oakDsl, { status: 'escalated', note: 'referred', escalatedTo: ['police', 'lado', 'police'] }, by(oakDsl));
      await store.recordOutcome(id, ALL, monitor, { status: 'false_positive', note: 'song lyrics' }, by(monitor));
      const closed = await store.reviewFlag(id, ALL);
      expect(closed).toMatchObject({ status: 'false_positive', closedAt: expect.any(Date) });
      expect(await store.listFlags(ALL, { statuses: ['false_positive'] }, EVERYTHING)).toMatchObject({ total: 1, items: [{ id, status: 'false_positive' }] });

      await expect(store.recordOutcome(id, ALL, monitor, { status: 'actioned', note: 'changed my mind' }, by(monitor))).rejects.toThrow(OutcomeError);
      await store.recordOutcome(id, ALL, monitor, { status: 'in_review', note: 'reopened: a second message came in' }, by(monitor));
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ status: 'in_review', closedAt: null });

      const history = await store.flagReviews(id);
      expect(history.map((r) => [r.reviewer, r.fromStatus, r.status, r.escalatedTo])).toEqual([
        ['mona', 'new', 'in_review', []],
        ['olive', 'in_review', 'escalated', ['lado', 'police']],
        ['mona', 'escalated', 'false_positive', []],
        ['mona', 'false_positive', 'in_review', []],
      ]);
      expect(history.every((r, i) => i === 0 || r.createdAt >= history[i - 1]!.createdAt)).toBe(true);
    });

    it('refuse an outcome without a note, an escalation without a target, targets without an escalation, and a move back to new', async () => {
      const id = await record(store, CORPUS.harmA);
      const refusal = async (outcome: Parameters<SqlFlagStore['recordOutcome']>[3]): Promise<OutcomeError> => {
        const error = await store.recordOutcome(id, ALL, monitor, outcome, by(monitor)).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(OutcomeError);
        return error as OutcomeError;
      };
      expect(await refusal({ status: 'actioned', note: '   ' })).toMatchObject({ field: 'note', message: expect.stringMatching(/^note: /) });
      expect(await refusal({ status: 'escalated', note: 'to whom?' })).toMatchObject({ field: 'escalatedTo' });
      expect(await refusal({ status: 'escalated', note: 'x', escalatedTo: ['headteacher' as never] })).toMatchObject({ field: 'escalatedTo' });
      expect(await refusal({ status: 'actioned', note: 'done', escalatedTo: ['dsl'] })).toMatchObject({ field: 'escalatedTo' });
      expect(await refusal({ status: 'new', note: 'start again' })).toMatchObject({ field: 'status' });
      expect(await refusal({ status: 'deleted' as never, note: 'x' })).toMatchObject({ field: 'status' });
      expect(await store.flagReviews(id)).toEqual([]);
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ status: 'new', acknowledgedAt: null });
    });

    it('refuse a flag outside the scope as if it did not exist, writing nothing', async () => {
      const id = await record(store, CORPUS.harmA);
      await expect(store.recordOutcome(id, RIV_DSL, rivDsl, { status: 'in_review', note: 'mine?' }, by(rivDsl))).rejects.toThrow(FlagNotFoundError);
      await expect(store.recordOutcome(id, DPO, monitor, { status: 'in_review', note: 'mine?' }, by(monitor))).rejects.toThrow(FlagNotFoundError);
      await expect(store.recordOutcome(987654, ALL, monitor, { status: 'in_review', note: 'gone' }, by(monitor))).rejects.toThrow(FlagNotFoundError);
      await expect(store.recordOutcome(Number.NaN, ALL, monitor, { status: 'in_review', note: 'not a number' }, by(monitor))).rejects.toThrow(FlagNotFoundError);
      expect(await store.flagReviews(id)).toEqual([]);
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ status: 'new', acknowledgedAt: null });
    });

    it('acknowledge the flag with the first outcome, in the same transaction, stopping its escalation', async () => {
      const id = await record(store, CORPUS.harmA, { deliveries: [], sealedOriginal: Buffer.from('sealed'), escalateAfterMs: 3_600_000 });
      // An outcome that fails (the reviewer's account is unknown) leaves no acknowledgement behind.
      const stranger: Reviewer = { ...monitor, id: 987654, username: 'stranger' };
      await expect(store.recordOutcome(id, ALL, stranger, { status: 'in_review', note: 'x' }, by(stranger))).rejects.toThrow();
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ status: 'new', acknowledgedAt: null });

      await store.recordOutcome(id, OAK_DSL, oakDsl, { status: 'in_review', note: 'on it' }, by(oakDsl));
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ acknowledgedAt: expect.any(Date), acknowledgedBy: 'olive' });
      const { rows } = await client.query<{ escalate_at: Date | null }>('SELECT escalate_at FROM flags WHERE id = $1', [id]);
      expect(rows[0]!.escalate_at).toBeNull();
      expect(await store.sealedOriginal(id)).toBeNull();
      await store.recordOutcome(id, ALL, monitor, { status: 'actioned', note: 'spoke to parents' }, by(monitor));
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ acknowledgedBy: 'olive' });
    });

    it('serialise two reviewers’ outcomes on one flag: one closes it, the other is refused; each history row’s from-status is true', async () => {
      const id = await record(store, CORPUS.harmA);
      const results = await Promise.allSettled([
        store.recordOutcome(id, ALL, monitor, { status: 'false_positive', note: 'lyrics' }, by(monitor)),
        second.recordOutcome(id, OAK_DSL, oakDsl, { status: 'actioned', note: 'called home' }, by(oakDsl)),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected');
      expect(refused?.reason).toBeInstanceOf(OutcomeError);
      expect((await store.flagReviews(id)).map((r) => r.fromStatus)).toEqual(['new']);

      const other = await record(store, CORPUS.harmA);
      await Promise.all([
        store.recordOutcome(other, ALL, monitor, { status: 'in_review', note: 'a' }, by(monitor)),
        second.recordOutcome(other, ALL, monitor, { status: 'escalated', note: 'b', escalatedTo: ['dsl'] }, by(monitor)),
        second.recordOutcome(other, OAK_DSL, oakDsl, { status: 'in_review', note: 'c' }, by(oakDsl)),
      ]);
      const history = await store.flagReviews(other);
      expect(history).toHaveLength(3);
      expect(history.map((r) => r.fromStatus)).toEqual(['new', history[0]!.status, history[1]!.status]);
      expect((await store.reviewFlag(other, ALL))!.status).toBe(history[2]!.status);
    });

    it('write an outcome’s audit row in the outcome’s own transaction: no audit row, no outcome', async () => {
      const id = await record(store, CORPUS.harmA);
      const entry = await store.recordOutcome(id, ALL, monitor, { status: 'escalated', note: 'to the DSL', escalatedTo: ['dsl'] }, { ...by(monitor), ip: '10.1.2.3' });
      const { items } = await store.auditEntries({ target: `flag:${id}` }, EVERYTHING);
      expect(items).toMatchObject([
        { actorId: monitor.id, actor: 'mona', role: 'monitor', action: 'flag.outcome', ip: '10.1.2.3', details: { review: entry.id, from: 'new', status: 'escalated', escalatedTo: ['dsl'] } },
      ]);
      // An audit row the log refuses (no actor) takes the outcome with it.
      await expect(store.recordOutcome(id, ALL, monitor, { status: 'actioned', note: 'done' }, { ...by(monitor), actor: '' })).rejects.toThrow(/actor/);
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ status: 'escalated' });
      expect(await store.flagReviews(id)).toHaveLength(1);
      const group = (await store.reviewFlag(id, ALL))!.groupKey;
      await expect(store.recordGroupOutcome(group, ALL, monitor, { status: 'actioned', note: 'done' }, { ...by(monitor), actor: '' })).rejects.toThrow(/actor/);
      expect(await store.reviewFlag(id, ALL)).toMatchObject({ status: 'escalated' });
    });

    it('audit a group outcome against its lowest flag id with every id, never the group key', async () => {
      const body = 'honestly i am planning to commit suicide tonight';
      const [a, b, c] = [await record(store, { ...CORPUS.harmA, body }), await record(store, { ...CORPUS.harmB, body }), await record(store, { ...CORPUS.harmC, body })];
      const group = (await store.reviewFlag(a, ALL))!.groupKey;
      expect((await store.reviewFlag(c, ALL))!.groupKey).toBe(group);
      expect(await store.recordGroupOutcome(group, OAK_DSL, oakDsl, { status: 'actioned', note: 'spoke to both' }, by(oakDsl))).toEqual([a, b]);
      expect(await store.recordGroupOutcome(group, OAK_DSL, oakDsl, { status: 'actioned', note: 'again' }, by(oakDsl))).toEqual([]);
      const { items } = await store.auditEntries({ action: 'group.outcome', actor: 'olive' }, EVERYTHING);
      expect(items.map((e) => [e.target, e.details])).toEqual([
        [null, { ids: [], status: 'actioned', escalatedTo: [] }],
        [`flag:${a}`, { ids: [a, b], status: 'actioned', escalatedTo: [] }],
      ]);
      const { rows } = await client.query<{ n: unknown }>('SELECT count(*) AS n FROM audit_log WHERE position($1 IN target) > 0 OR position($1 IN details::text) > 0', [group]);
      expect(Number(rows[0]!.n)).toBe(0);
      expect((await store.groupOutcomeAudit(b)).map((e) => e.target)).toEqual([`flag:${a}`]);
      expect(await store.groupOutcomeAudit(c)).toEqual([]);
    });

    it('give a whole group one outcome, leaving closed flags and flags outside the scope alone', async () => {
      // Words no other test uses: the group is exactly these three flags, from three senders in two academies.
      const body = 'honestly im going to end my life tonight';
      const [a, b, c] = [
        await record(store, { ...CORPUS.harmA, body }),
        await record(store, { ...CORPUS.harmB, body: body.toUpperCase() }),
        await record(store, { ...CORPUS.harmC, body }),
      ];
      const group = (await store.reviewFlag(a, ALL))!.groupKey;
      expect((await store.reviewFlag(c, ALL))!.groupKey).toBe(group);
      await store.recordOutcome(b, ALL, monitor, { status: 'actioned', note: 'handled alone' }, by(monitor));

      await expect(store.recordGroupOutcome(group, OAK_DSL, oakDsl, { status: 'no_further_action', note: '' }, by(oakDsl))).rejects.toThrow(OutcomeError);
      const inOakfield = await store.recordGroupOutcome(group, OAK_DSL, oakDsl, { status: 'no_further_action', note: 'class discussion of a song' }, by(oakDsl));
      expect(inOakfield).toEqual([a]);
      expect((await store.reviewFlag(c, ALL))!.status).toBe('new');
      expect((await store.reviewFlag(b, ALL))!.status).toBe('actioned');
      expect(await store.flagReviews(a)).toMatchObject([{ reviewer: 'olive', fromStatus: 'new', status: 'no_further_action', note: 'class discussion of a song' }]);
      expect(await store.reviewFlag(a, ALL)).toMatchObject({ closedAt: expect.any(Date), acknowledgedBy: 'olive' });

      expect(await store.recordGroupOutcome(group, ALL, monitor, { status: 'escalated', note: 'all of them', escalatedTo: ['dsl'] }, by(monitor))).toEqual([c]);
      expect(await store.recordGroupOutcome(group, ALL, monitor, { status: 'actioned', note: 'done' }, by(monitor))).toEqual([c]);
      expect(await store.recordGroupOutcome(group, ALL, monitor, { status: 'actioned', note: 'again' }, by(monitor))).toEqual([]);
      expect(await store.recordGroupOutcome('no-such-group', ALL, monitor, { status: 'actioned', note: 'x' }, by(monitor))).toEqual([]);
    });

    it('serialise a group outcome with a reviewer’s outcome on one of its flags', async () => {
      const [a, b] = [await record(store, CORPUS.die), await record(store, CORPUS.die)];
      const group = (await store.reviewFlag(a, ALL))!.groupKey;
      const [closedIds] = await Promise.all([
        store.recordGroupOutcome(group, ALL, monitor, { status: 'false_positive', note: 'quiz answer' }, by(monitor)),
        second.recordOutcome(b, ALL, oakDsl, { status: 'in_review', note: 'looking' }, by(oakDsl)).catch((e: unknown) => e),
      ]);
      for (const id of [a, b]) {
        const history = await store.flagReviews(id);
        // Whatever the order, every row starts from the status the one before it left.
        expect(history.map((r) => r.fromStatus)).toEqual(['new', ...history.slice(0, -1).map((r) => r.status)]);
      }
      expect(closedIds).toContain(a);
    });
  });

  describe('findings in a category scope', () => {
    it('show a DPO only the personal-data findings and categories of a mixed flag, counting the others', async () => {
      const { store } = await openStore();
      // Far enough apart that neither finding's excerpt reaches the other's words.
      const filler = 'We talked about the timetable for next term and the trip. '.repeat(8);
      const id = await record(store, { ...CORPUS.dobA, body: `${CORPUS.dobA.body}\n\n${filler}\n\n${SELF_HARM}` });
      const whole = await store.reviewFlag(id, ALL);
      expect(whole!.report.findings.map((f) => f.category).sort()).toEqual(['personal_data.date_of_birth', 'safety.self_harm']);
      expect(whole!.hiddenFindings).toBe(0);
      const dpo = await store.reviewFlag(id, DPO);
      expect(dpo!.report.findings.map((f) => f.category)).toEqual(['personal_data.date_of_birth']);
      expect(dpo!.report.categories).toEqual(['personal_data.date_of_birth']);
      expect(dpo!.hiddenFindings).toBe(1);
      expect(JSON.stringify(dpo!.report)).not.toContain('kill myself');
      expect((await store.reviewFlag(id, OAK_DSL))?.hiddenFindings ?? 0).toBe(0);
      expect(dpo!.report.severity).toBe(dpo!.report.findings[0]!.severity);
      expect(dpo!.report.urgent).toBe(false);

      // The list, its filters and precision keep to the same findings: nothing there tells a DPO the flag is also self-harm.
      const [item] = (await store.listFlags(DPO, {}, EVERYTHING)).items;
      expect(item).toMatchObject({ id, categories: ['personal_data.date_of_birth'], rules: ['personal_data.date_of_birth'], severity: dpo!.report.severity, urgent: false });
      expect((await store.listFlags(ALL, {}, EVERYTHING)).items[0]!.rules).toContain('self_harm.intent');
      for (const probe of [{ categories: ['safety.*'] }, { categories: ['safety.self_harm'] }, { rule: 'self_harm.intent' }, { minSeverity: 'urgent' }] satisfies FlagFilter[]) {
        expect((await store.listFlags(ALL, probe, EVERYTHING)).total).toBe(1);
        expect((await store.listFlags(DPO, probe, EVERYTHING)).total).toBe(0);
      }
      expect((await store.listFlags(DPO, { categories: ['personal_data.*'], rule: 'personal_data.date_of_birth' }, EVERYTHING)).total).toBe(1);
      expect((await store.rulePrecision(DPO)).map((r) => r.rule)).toEqual(['personal_data.date_of_birth']);
    });
  });

  describe('precision', () => {
    let store: SqlFlagStore;
    let monitor: Reviewer;

    beforeAll(async () => {
      let client: SqlClient;
      ({ store, client } = await openStore());
      monitor = await addReviewer(client, 'mona', 'monitor');
      const close = async (parts: Omit<MailParts, 'id'>, status: 'false_positive' | 'actioned' | 'no_further_action' | null): Promise<number> => {
        const id = await record(store, parts);
        if (status) await store.recordOutcome(id, ALL, monitor, { status, note: 'reviewed' }, by(monitor));
        return id;
      };
      await close(CORPUS.harmA, 'false_positive');
      await close(CORPUS.harmB, 'actioned');
      await close(CORPUS.harmA, null);
      await close(CORPUS.harmC, 'false_positive');
      await close(CORPUS.die, 'no_further_action');
      // Reopened: no longer a final outcome, so not counted.
      const reopened = await close(CORPUS.die, 'false_positive');
      await store.recordOutcome(reopened, ALL, monitor, { status: 'in_review', note: 'reopened' }, by(monitor));
      // Two rules in one message: the false positive counts against each.
      await close(CORPUS.bully, 'false_positive');
      await close(CORPUS.dobA, null);
    });

    it('counts false positives against every rule of a closed flag, per rule and per academy', async () => {
      const rows = await store.rulePrecision(ALL);
      expect(rows).toEqual([
        { rule: 'bullying.exclusion', category: 'safety.bullying', academy: null, reviewed: 1, falsePositives: 1, precision: 0 },
        { rule: 'bullying.exclusion', category: 'safety.bullying', academy: OAK, reviewed: 1, falsePositives: 1, precision: 0 },
        { rule: 'bullying.exclusion', category: 'safety.bullying', academy: RIV, reviewed: 1, falsePositives: 1, precision: 0 },
        { rule: 'bullying.targeted_insult', category: 'safety.bullying', academy: null, reviewed: 1, falsePositives: 1, precision: 0 },
        { rule: 'bullying.targeted_insult', category: 'safety.bullying', academy: OAK, reviewed: 1, falsePositives: 1, precision: 0 },
        { rule: 'bullying.targeted_insult', category: 'safety.bullying', academy: RIV, reviewed: 1, falsePositives: 1, precision: 0 },
        { rule: 'personal_data.date_of_birth', category: 'personal_data.date_of_birth', academy: null, reviewed: 0, falsePositives: 0, precision: null },
        { rule: 'self_harm.intent', category: 'safety.self_harm', academy: null, reviewed: 4, falsePositives: 2, precision: 0.5 },
        { rule: 'self_harm.intent', category: 'safety.self_harm', academy: OAK, reviewed: 3, falsePositives: 1, precision: 1 - 1 / 3 },
        { rule: 'self_harm.intent', category: 'safety.self_harm', academy: RIV, reviewed: 1, falsePositives: 1, precision: 0 },
      ]);
    });

    it('covers only the scope and the period asked for', async () => {
      const oakfield = await store.rulePrecision(OAK_DSL);
      expect(oakfield.find((r) => r.rule === 'self_harm.intent' && r.academy === null)).toMatchObject({ reviewed: 3, falsePositives: 1 });
      expect(oakfield.some((r) => r.rule.startsWith('personal_data.'))).toBe(false);
      // The bullying flag also names Riverside: that academy's rows are not an Oakfield DSL's.
      expect(oakfield.filter((r) => r.academy !== null).map((r) => r.academy)).toEqual(expect.arrayContaining([OAK]));
      expect(oakfield.filter((r) => r.academy !== null && r.academy !== OAK)).toEqual([]);
      expect((await store.rulePrecision(RIV_DSL)).filter((r) => r.academy !== null).map((r) => [r.rule, r.academy])).toEqual([
        ['bullying.exclusion', RIV],
        ['bullying.targeted_insult', RIV],
        ['self_harm.intent', RIV],
      ]);
      expect((await store.rulePrecision(DPO)).map((r) => r.rule)).toEqual(['personal_data.date_of_birth']);
      expect(await store.rulePrecision({ kind: 'none' })).toEqual([]);
      expect(await store.rulePrecision(ALL, new Date(Date.now() + 3_600_000))).toEqual([]);
      expect((await store.rulePrecision(ALL, new Date(Date.now() - 3_600_000))).length).toBeGreaterThan(0);
    });
  });
});
