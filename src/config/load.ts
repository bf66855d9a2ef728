import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { kestrelConfigSchema } from './schema.js';
import type { KestrelConfig } from './schema.js';
import type { SecretSource } from './operations-schema.js';
import { parseYaml, SourceError, validate } from './yaml-source.js';

export const DEFAULT_CONFIG_FILE = 'kestrel.yaml';

/**
 * Loads kestrel.yaml. Without `file`, ./kestrel.yaml is used when present and built-in
 * defaults otherwise; a file that was named explicitly must exist, because silently falling
 * back to defaults would scan with the wrong trust domains.
 */
export function loadConfig(file?: string): KestrelConfig {
  if (file === undefined) {
    if (!existsSync(resolve(DEFAULT_CONFIG_FILE))) return defaultConfig();
    file = DEFAULT_CONFIG_FILE;
  }
  return parseConfig(file, readConfigText(file));
}

export function defaultConfig(): KestrelConfig {
  return kestrelConfigSchema.parse({});
}

/** `file` names the text in messages and anchors its relative paths. */
export function parseConfig(file: string, text: string): KestrelConfig {
  const source = parseYaml(file, text);
  // An empty or all-comment file means "all defaults", not "expected object, received null".
  const document = source.value ?? {};
  const config = validate({ ...source, value: document }, kestrelConfigSchema);
  return resolvePaths(config, dirname(resolve(file)));
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'config file not found' : `cannot read config file (${code ?? String(error)})`;
    throw new SourceError([`${file}: ${reason}`]);
  }
}

function resolveSecret(secret: SecretSource | undefined, folder: string): SecretSource | undefined {
  return secret && 'file' in secret ? { file: resolve(folder, secret.file) } : secret;
}

/** A server entry's certificate, password file and token file, resolved against the config's folder. */
function resolveServerPaths<T extends { ca?: string | undefined; password?: SecretSource | undefined; oauth2?: { tokenFile?: string | undefined } | undefined }>(server: T, folder: string): T {
  const password = resolveSecret(server.password, folder);
  const tokenFile = server.oauth2?.tokenFile;
  return {
    ...server,
    ...(server.ca === undefined ? {} : { ca: resolve(folder, server.ca) }),
    ...(password ? { password } : {}),
    ...(server.oauth2 && tokenFile !== undefined ? { oauth2: { ...server.oauth2, tokenFile: resolve(folder, tokenFile) } } : {}),
  };
}

function resolvePaths(config: KestrelConfig, folder: string): KestrelConfig {
  const { directoryCsv } = config.trust;
  const key = resolveSecret(config.queue.key, folder);
  const { smtp } = config.delivery;
  const { tls, oidc } = config.review;
  return {
    ...config,
    trust: { ...config.trust, ...(directoryCsv === undefined ? {} : { directoryCsv: resolve(folder, directoryCsv) }) },
    lexicons: config.lexicons.map((entry) => resolve(folder, entry)),
    accounts: config.accounts.map((account) => resolveServerPaths(account, folder)),
    delivery: {
      ...config.delivery,
      ...(smtp ? { smtp: resolveServerPaths(smtp, folder) } : {}),
      imap: config.delivery.imap.map((destination) => resolveServerPaths(destination, folder)),
    },
    queue: { ...config.queue, ...(key ? { key } : {}) },
    store: { ...config.store, dataDir: resolve(folder, config.store.dataDir) },
    review: {
      ...config.review,
      ...(tls ? { tls: { cert: resolve(folder, tls.cert), key: resolve(folder, tls.key) } } : {}),
      ...(oidc ? { oidc: { ...oidc, clientSecret: resolveSecret(oidc.clientSecret, folder)! } } : {}),
    },
  };
}

/**
 * REDIS_URL and DATABASE_URL override the file, as container platforms expect. The built-in
 * defaults' relative `dataDir` is resolved against the working directory.
 */
export function withEnvironment(config: KestrelConfig, env: NodeJS.ProcessEnv = process.env): KestrelConfig {
  return {
    ...config,
    queue: { ...config.queue, ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}) },
    store: { ...config.store, dataDir: resolve(config.store.dataDir), ...(env.DATABASE_URL ? { url: env.DATABASE_URL } : {}) },
  };
}
