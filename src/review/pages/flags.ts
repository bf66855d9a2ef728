/** The review UI: the flag list (filters, paging, groups), the flag page and outcomes. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerFlagPages(_app: FastifyInstance, _deps: ReviewDeps): void {}
