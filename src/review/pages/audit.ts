/** The review UI: the audit log for DPOs and auditors. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerAudit(_app: FastifyInstance, _deps: ReviewDeps): void {}
