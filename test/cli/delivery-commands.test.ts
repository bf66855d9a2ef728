/** `kestrel flags ack`, `kestrel deliveries` and `kestrel deliveries retry` against an embedded store. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/load.js';
import { openFlagStore } from '../../src/flags/open.js';
import { captureIo } from '../helpers/cli.js';
import { flaggedReport, occurrence, silent } from '../flags/support.js';
import { seedPglite } from '../flags/support.js';

let dir: string;
let file: string;
let flagId: number;
let failedDelivery: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kestrel-deliveries-cli-'));
  mkdirSync(join(dir, 'data'));
  seedPglite(join(dir, 'data'));
  file = join(dir, 'kestrel.yaml');
  writeFileSync(file, `store: { dataDir: ${join(dir, 'data')} }\nlog: { level: silent }\n`);
  const store = await openFlagStore(loadConfig(file).store, silent);
  try {
    const message = (recipient: string, n: number) => ({ recipient, routes: ['urgent'], form: 'full' as const, messageId: `<copy-${n}@trust.sch.uk>` });
    const result = await store.recordScan('cli-key', occurrence('cli', 'INBOX', 1), await flaggedReport('cli'), {
      deliveries: [message('head@trust.sch.uk', 1), message('oncall@trust.sch.uk', 2)],
      escalateAfterMs: 0, // due at once: only the acknowledgement keeps it from escalating
    });
    flagId = result.flagId!;
    failedDelivery = result.deliveries[1]!;
    await store.claimDelivery(failedDelivery, 60_000);
    await store.finishDelivery(failedDelivery, 1, { status: 'failed', error: '550 5.1.1 recipient: Recipient address rejected (RCPT TO)' });
  } finally {
    await store.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function kestrel(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo();
  const code = await main([...args, '--config', file], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

describe('delivery commands', () => {
  it('list the copies not yet delivered, with the reason, and only the failed ones with --failed', async () => {
    const all = await kestrel('deliveries');
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n').filter((l) => /^\d/.test(l))).toEqual([
      expect.stringMatching(new RegExp(`^${failedDelivery}\\s+failed\\s+flag ${flagId}\\s+1\\s+urgent\\s+550 5\\.1\\.1`)),
      expect.stringMatching(new RegExp(`^${failedDelivery - 1}\\s+pending\\s+flag ${flagId}\\s+0\\s+urgent`)),
    ]);
    const failed = await kestrel('deliveries', '--failed', '--json');
    expect(failed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: number; status: string })).toEqual([expect.objectContaining({ id: failedDelivery, status: 'failed' })]);
  });

  it('retry a failed copy, and refuse one that has not failed', async () => {
    expect(await kestrel('deliveries', 'retry', String(failedDelivery))).toMatchObject({ code: 0, stdout: `delivery ${failedDelivery} will be sent again by the copier\n` });
    expect(await kestrel('deliveries', 'retry', String(failedDelivery))).toMatchObject({ code: 2, stderr: `kestrel: delivery ${failedDelivery} is not a failed delivery\n` });
    expect((await kestrel('deliveries', '--failed')).stdout).toBe('no failed copies\n');
    expect(await kestrel('deliveries', 'retry', 'x')).toMatchObject({ code: 2, stderr: 'kestrel: deliveries retry expects a number, got "x"\n' });
  });

  it('acknowledge a flag, which stops its escalation', async () => {
    expect(await kestrel('flags', 'ack', String(flagId), '--by', 'Head of Safeguarding')).toMatchObject({ code: 0, stdout: `flag ${flagId} acknowledged by Head of Safeguarding: its escalation has stopped\n` });
    const store = await openFlagStore(loadConfig(file).store, silent);
    try {
      expect(await store.escalateDue(['deputy@trust.sch.uk'], 0, () => '<x@trust.sch.uk>')).toEqual([]);
    } finally {
      await store.close();
    }
    expect(await kestrel('flags', 'ack', '999999')).toMatchObject({ code: 2, stderr: 'kestrel: there is no flag 999999\n' });
    expect(await kestrel('flags', 'close', '1')).toMatchObject({ code: 2, stderr: 'kestrel: usage: kestrel flags ack ID [--by NAME]\n' });
  });
});
