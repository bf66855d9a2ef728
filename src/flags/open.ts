/** The flag store the config asks for: PostgreSQL when `store.url` is set, else PGlite under `store.dataDir`. */
import { isAbsolute, join } from 'node:path';
import type { KestrelConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { openPglite, openPostgres, type SqlClient } from './sql.js';
import { createSqlFlagStore, type SqlFlagStore } from './store.js';

/** PGlite's files go in a folder of their own, so `dataDir` can hold other state beside them. */
export function pgliteDir(dataDir: string): string {
  return join(dataDir, 'pglite');
}

/** Opens the store and brings its schema up to date before returning it. */
export async function openFlagStore(store: KestrelConfig['store'], logger: Logger): Promise<SqlFlagStore> {
  let client: SqlClient;
  if (store.url) {
    client = openPostgres(store.url, logger);
  } else {
    if (!isAbsolute(store.dataDir)) throw new Error(`store.dataDir must be an absolute path once loaded, got "${store.dataDir}"`);
    client = await openPglite(pgliteDir(store.dataDir));
  }
  const flags = createSqlFlagStore(client, logger);
  try {
    await flags.migrate();
  } catch (error) {
    await flags.close().catch(() => {});
    throw error;
  }
  logger.info({ store: store.url ? 'postgres' : 'pglite', at: client.description }, 'flag store ready');
  return flags;
}
