/** The store for one short command (flags ack, deliveries, users, purge): opened, used, closed. */
import type { KestrelConfig } from '../config/schema.js';
import { openFlagStore } from '../flags/open.js';
import type { SqlFlagStore } from '../flags/store.js';
import { createLogger } from '../log.js';
import { StartupError } from './errors.js';
import type { CliIo } from './io.js';

export async function withStore<T>(config: KestrelConfig, io: CliIo, use: (store: SqlFlagStore) => Promise<T>): Promise<T> {
  // Logs go to stderr at warn, so the command's own output stays readable.
  const logger = createLogger({ ...config, log: { level: 'warn' } }, io.stderr);
  let store: SqlFlagStore;
  try {
    store = await openFlagStore(config.store, logger);
  } catch (error) {
    // Embedded PGlite belongs to the one process that has it open, usually a running `kestrel run`.
    const hint = config.store.url ? '' : ' (while `kestrel run` has the embedded store open, stop it first, or act in the review UI it serves)';
    throw new StartupError(`${(error as Error).message}${hint}`);
  }
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}
