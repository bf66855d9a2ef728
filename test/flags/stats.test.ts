/**
 * The dashboard's counts on PGlite and PostgreSQL: by category, academy and ISO week (in the
 * trust's zone, zero-filled), open against closed and urgent unacknowledged, each within a scope;
 * and the pipeline's checkpoints and scan failures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlagScope, FlagStatus } from '../../src/flags/review-types.js';
import type { SqlClient } from '../../src/flags/sql.js';
import { createSqlFlagStore, type SqlFlagStore } from '../../src/flags/store.js';
import { type Backend, flaggedReport, occurrence, pgliteBackend, postgresBackend, silent } from './support.js';

// Monday 16 November 2026, 09:00 in London (GMT): weeks 2026-W36 .. 2026-W47 when counting 12.
const NOW = new Date('2026-11-16T09:00:00Z');
const QUERY = { now: NOW, weeks: 12, timeZone: 'Europe/London' };

interface Seed {
  createdAt: string;
  categories: string[];
  academies: string[];
  status?: FlagStatus;
  urgent?: boolean;
  acknowledged?: boolean;
}

const SEEDS: Seed[] = [
  // This week (W47), twice, one with two categories and two academies.
  { createdAt: '2026-11-16T08:00:00Z', categories: ['self_harm.intent', 'bullying.threat'], academies: ['Oakfield Primary', 'Oakfield High'], urgent: true },
  { createdAt: '2026-11-16T00:30:00Z', categories: ['personal_data.special'], academies: ['Oakfield High'], status: 'false_positive', acknowledged: true },
  // Sunday 15 November 23:30 GMT is still W46.
  { createdAt: '2026-11-15T23:30:00Z', categories: ['bullying.threat'], academies: [], status: 'escalated', urgent: true, acknowledged: true },
  // 31 August 23:30 UTC is 1 September 00:30 in London (BST): Tuesday of W36, the first week counted.
  { createdAt: '2026-08-31T23:30:00Z', categories: ['personal_data.special'], academies: ['Oakfield Primary'], status: 'actioned' },
  // Sunday 30 August 22:30 UTC is 23:30 BST, W35: before the window, but still urgent and unacknowledged.
  { createdAt: '2026-08-30T22:30:00Z', categories: ['self_harm.intent'], academies: ['Oakfield Primary'], urgent: true },
];

describe.each([
  { name: 'PGlite', start: pgliteBackend },
  { name: 'PostgreSQL', start: postgresBackend },
])('dashboard counts on $name', ({ name, start }) => {
  let backend: Backend;
  let client: SqlClient;
  let store: SqlFlagStore;

  beforeAll(async () => {
    backend = await start();
    client = (await backend.fresh()).client;
    store = createSqlFlagStore(client, silent);
    await store.migrate();
    for (const [index, seed] of SEEDS.entries()) {
      const { flagId } = await store.recordScan(`${name}-stats-${index}`, occurrence(`a${index}@pupils.oakfield.sch.uk`, 'INBOX', index + 1), await flaggedReport(`stats-${index}`));
      await client.query('UPDATE flags SET created_at = $2, categories = $3::text[], academies = $4::text[], status = $5, urgent = $6, acknowledged_at = $7 WHERE id = $1', [
        flagId,
        seed.createdAt,
        seed.categories,
        seed.academies,
        seed.status ?? 'new',
        seed.urgent ?? false,
        seed.acknowledged ? seed.createdAt : null,
      ]);
    }
  });

  afterAll(async () => {
    await store?.close();
    await backend?.stop();
  });

  const stats = (scope: FlagScope) => store.flagStats(scope, QUERY);

  it('count every flag of the last 12 ISO weeks for a monitor, with empty weeks as zero', async () => {
    const all = await stats({ kind: 'all' });
    expect(all.since).toEqual(new Date('2026-08-30T23:00:00Z')); // Monday 31 August 00:00 BST
    expect(all.total).toBe(4);
    expect(all.byWeek).toHaveLength(12);
    expect(all.byWeek[0]).toEqual({ week: '2026-W36', start: new Date('2026-08-30T23:00:00Z'), count: 1 });
    expect(all.byWeek.at(-1)).toEqual({ week: '2026-W47', start: new Date('2026-11-16T00:00:00Z'), count: 2 });
    expect(all.byWeek.at(-2)).toMatchObject({ week: '2026-W46', count: 1 });
    expect(all.byWeek.slice(1, -2).every((w) => w.count === 0)).toBe(true);
    expect(all.byCategory).toEqual([
      { key: 'bullying.threat', count: 2 },
      { key: 'personal_data.special', count: 2 },
      { key: 'self_harm.intent', count: 1 },
    ]);
    expect(all.byAcademy).toEqual([
      { key: 'Oakfield High', count: 2 },
      { key: 'Oakfield Primary', count: 2 },
      { key: null, count: 1 },
    ]);
    expect({ open: all.open, closed: all.closed, urgent: all.urgentUnacknowledged }).toEqual({ open: 2, closed: 2, urgent: 2 });
  });

  it('keep to a DSL academy and to a DPO personal-data flags', async () => {
    const primary = await stats({ kind: 'academy', academy: 'Oakfield Primary' });
    expect(primary.total).toBe(2);
    expect(primary.byCategory.map((c) => c.key)).toEqual(['bullying.threat', 'personal_data.special', 'self_harm.intent']);
    expect(primary.urgentUnacknowledged).toBe(2);
    // One of them also names Oakfield High: that academy's count is not this DSL's to see.
    expect(primary.byAcademy).toEqual([{ key: 'Oakfield Primary', count: 2 }]);
    expect((await stats({ kind: 'academy', academy: 'Oakfield High' })).byAcademy).toEqual([{ key: 'Oakfield High', count: 2 }]);

    const dpo = await stats({ kind: 'category_prefix', prefix: 'personal_data' });
    expect(dpo.total).toBe(2);
    expect(dpo.byCategory).toEqual([{ key: 'personal_data.special', count: 2 }]);
    expect({ open: dpo.open, closed: dpo.closed, urgent: dpo.urgentUnacknowledged }).toEqual({ open: 0, closed: 2, urgent: 0 });

    const none = await stats({ kind: 'none' });
    expect(none.total).toBe(0);
    expect(none.byWeek.map((w) => w.count)).toEqual(Array(12).fill(0));
    expect(none.byCategory).toEqual([]);
  });

  it('count a mixed flag for a DPO under its personal-data categories only, and not as urgent for its self-harm finding', async () => {
    const { flagId } = await store.recordScan(`${name}-stats-mixed`, occurrence('mixed@pupils.oakfield.sch.uk', 'INBOX', 99), await flaggedReport('stats-mixed'));
    await client.query(`UPDATE flags SET created_at = $2, categories = ARRAY['safety.self_harm', 'personal_data.special'], urgent = true WHERE id = $1`, [flagId, NOW]);
    const dpo = await stats({ kind: 'category_prefix', prefix: 'personal_data' });
    expect(dpo.byCategory).toEqual([{ key: 'personal_data.special', count: 3 }]);
    expect(dpo.urgentUnacknowledged).toBe(0);
    expect((await stats({ kind: 'all' })).byCategory).toContainEqual({ key: 'safety.self_harm', count: 1 });
    await client.query('DELETE FROM flags WHERE id = $1', [flagId]);
  });

  it('refuse a window of no weeks or of years', async () => {
    await expect(store.flagStats({ kind: 'all' }, { ...QUERY, weeks: 0 })).rejects.toThrow(/weeks/);
    await expect(store.flagStats({ kind: 'all' }, { ...QUERY, weeks: 500 })).rejects.toThrow(/weeks/);
  });

  it('list checkpoints and count scan failures', async () => {
    await store.advanceCheckpoint('b@staff.oakfield.sch.uk', 'INBOX', { uidValidity: '7', lastUid: 40 });
    await store.advanceCheckpoint('a@staff.oakfield.sch.uk', 'Sent', { uidValidity: '7', lastUid: 12 });
    const states = await store.checkpointStates();
    expect(states.map((s) => [s.account, s.folder, s.lastUid])).toEqual([
      ['a@staff.oakfield.sch.uk', 'Sent', 12],
      ['b@staff.oakfield.sch.uk', 'INBOX', 40],
    ]);
    expect(states[0]!.updatedAt).toBeInstanceOf(Date);
    expect(await store.scanFailureCount()).toBe(0);
    await store.recordFailure(`${name}-broken`, occurrence('b@staff.oakfield.sch.uk', 'INBOX', 41), 'time limit');
    expect(await store.scanFailureCount()).toBe(1);
  });
});
