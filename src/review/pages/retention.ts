/** The review UI: retention: the periods in force and the purges that ran. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerRetention(_app: FastifyInstance, _deps: ReviewDeps): void {}
