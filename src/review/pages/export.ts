/** The review UI: one case (flag, evidence, history) as JSON or PDF. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerExports(_app: FastifyInstance, _deps: ReviewDeps): void {}
