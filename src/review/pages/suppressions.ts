/** The review UI: suppressions: create from a false positive, list, revoke. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerSuppressions(_app: FastifyInstance, _deps: ReviewDeps): void {}
