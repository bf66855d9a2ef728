/** The review UI: the ops view for ict_admin: queues, failed jobs, connectors, deliveries, scan failures. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerOps(_app: FastifyInstance, _deps: ReviewDeps): void {}
