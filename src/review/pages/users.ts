/** The review UI: user administration for ict_admin. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerUsers(_app: FastifyInstance, _deps: ReviewDeps): void {}
