/** The review UI: targeted monitoring: authorisations and the messages kept under them. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerAuthorisations(_app: FastifyInstance, _deps: ReviewDeps): void {}
