/** Every page of the review UI, registered on one server. */
import type { FastifyInstance } from 'fastify';
import type { ReviewDeps } from '../context.js';
import { registerAudit } from './audit.js';
import { registerAuthorisations } from './authorisations.js';
import { registerDashboard } from './dashboard.js';
import { registerExports } from './export.js';
import { registerFlagPages } from './flags.js';
import { registerLogin } from './login.js';
import { registerOps } from './ops.js';
import { registerPrecision } from './precision.js';
import { registerRetention } from './retention.js';
import { registerSuppressions } from './suppressions.js';
import { registerUsers } from './users.js';

export function registerPages(app: FastifyInstance, deps: ReviewDeps): void {
  for (const register of [registerLogin, registerFlagPages, registerExports, registerPrecision, registerSuppressions, registerAuthorisations, registerRetention, registerDashboard, registerOps, registerAudit, registerUsers]) {
    register(app, deps);
  }
}
