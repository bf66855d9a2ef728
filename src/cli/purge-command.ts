/**
 * `kestrel purge [--dry-run]`: the retention purge now (`kestrel run`, `worker` and `review` also
 * run it daily at retention.purgeAt). With --dry-run it counts what would be deleted and deletes nothing.
 */
import type { KestrelConfig } from '../config/schema.js';
import type { PurgeCounts } from '../flags/retention.js';
import { EXIT } from './errors.js';
import type { CliIo } from './io.js';
import { withStore } from './with-store.js';

const LABELS: Record<keyof PurgeCounts, string> = {
  flags: 'closed flags',
  findings: 'findings',
  occurrences: 'mailbox occurrences',
  reviews: 'outcomes',
  deliveries: 'copy records',
  copyOriginals: 'originals of failed copies',
  digests: 'digests',
  retainedMessages: 'kept messages (targeted monitoring)',
  messageKeys: 'scanned message keys',
  scanFailures: 'scan failures',
  sessions: 'expired sessions',
  suppressions: 'ended suppressions',
  authorisations: 'ended authorisations (targeted monitoring)',
  auditRows: 'audit rows',
};

export async function runPurge(config: KestrelConfig, args: { dryRun: boolean }, io: CliIo): Promise<number> {
  return withStore(config, io, async (store) => {
    const counts = (await store.purge(config.retention, { dryRun: args.dryRun, actor: 'kestrel purge' }))!;
    const overdue = await store.overdueFlags(config.retention, new Date());
    io.stdout.write(args.dryRun ? 'dry run: nothing deleted; a purge now would delete:\n' : 'purged:\n');
    for (const [key, label] of Object.entries(LABELS) as Array<[keyof PurgeCounts, string]>) io.stdout.write(`  ${label.padEnd(38)} ${counts[key]}\n`);
    if (overdue.count > 0) io.stdout.write(`${overdue.count} open flag(s) are past their retention period: they are kept until someone closes them\n`);
    return EXIT.ok;
  });
}
