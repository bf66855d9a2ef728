/**
 * A review app for page tests: the real store (PGlite or PostgreSQL, see test/flags/support.ts)
 * and the page modules under test, with the signed-in reviewer chosen by the test instead of by a
 * session cookie. Sign-in itself is tested in test/review/auth.test.ts and end to end in the browser.
 */
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance } from 'fastify';
import { parseConfig } from '../../src/config/load.js';
import type { KestrelConfig } from '../../src/config/schema.js';
import type { ReviewDeps } from '../../src/review/context.js';
import type { PipelineHealth } from '../../src/review/health.js';
import type { Reviewer } from '../../src/flags/review-types.js';
import type { SqlFlagStore } from '../../src/flags/store.js';
import { silent } from '../flags/support.js';

export const REVIEW_CONFIG = `
trust:
  name: Oakfield Learning Trust
  domains: [oakfield.sch.uk]
  staff: ["*@staff.oakfield.sch.uk"]
  pupils: ["*@pupils.oakfield.sch.uk"]
  academies:
    - name: Oakfield Primary
      patterns: ["*@pupils.oakfield.sch.uk"]
    - name: Oakfield High
      patterns: ["*@high.oakfield.sch.uk"]
builtinLexicons: false
lexicons: [../fixtures/lexicons]
`;

export function reviewConfig(extra = ''): KestrelConfig {
  return parseConfig('test/review/kestrel.yaml', REVIEW_CONFIG + extra);
}

/** No queues, no connectors: embedded mode before anything ran. */
export const idleHealth: PipelineHealth = {
  queues: async () => [],
  failedJobs: async () => [],
  retryJob: async () => false,
  connectors: async () => [],
  close: async () => {},
};

export function reviewer(role: Reviewer['role'], overrides: Partial<Reviewer> = {}): Reviewer {
  return { id: 1, username: role, displayName: `A ${role}`, role, academy: role === 'dsl' ? 'Oakfield Primary' : null, ...overrides };
}

export interface PageApp {
  app: FastifyInstance;
  deps: ReviewDeps;
  /** Who the next requests are made as; null: signed out. */
  signInAs(who: Reviewer | null): void;
}

export async function pageApp(store: SqlFlagStore, register: Array<(app: FastifyInstance, deps: ReviewDeps) => void>, options: { config?: KestrelConfig; health?: PipelineHealth; now?: () => Date } = {}): Promise<PageApp> {
  const deps: ReviewDeps = {
    config: options.config ?? reviewConfig(),
    store,
    logger: silent,
    keys: { header: Buffer.alloc(32, 1), original: Buffer.alloc(32, 2) },
    health: options.health ?? idleHealth,
    now: options.now ?? (() => new Date()),
  };
  let current: Reviewer | null = null;
  const app = Fastify();
  await app.register(formbody);
  app.decorateRequest('reviewer', null);
  app.decorateRequest('csrfToken', null);
  app.addHook('onRequest', async (request) => {
    request.reviewer = current;
    request.csrfToken = current ? 'test-csrf' : null;
  });
  for (const r of register) r(app, deps);
  await app.ready();
  return { app, deps, signInAs: (who) => void (current = who) };
}
