/** The review UI: per-rule precision from reviewers' outcomes, per rule and per academy. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerPrecision(_app: FastifyInstance, _deps: ReviewDeps): void {}
