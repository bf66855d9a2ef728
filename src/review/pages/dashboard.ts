/** The review UI: the dashboard: flags by category, academy and week, and the pipeline's health. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerDashboard(_app: FastifyInstance, _deps: ReviewDeps): void {}
