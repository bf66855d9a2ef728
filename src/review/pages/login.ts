/** The review UI: sign-in (local accounts, OIDC) and sign-out. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';

export function registerLogin(_app: FastifyInstance, _deps: ReviewDeps): void {}
