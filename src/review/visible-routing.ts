/**
 * Where a flag went, as a reviewer whose scope hides some of its findings (a DPO on a flag that is
 * also a safety concern) may see it: the routes its visible findings alone would take, and only
 * the copies sent on those routes. The monitor's copy of a mixed flag would otherwise tell them
 * what was hidden.
 */
import type { Route } from '../config/schema.js';
import type { Delivery } from '../flags/deliveries.js';
import type { ReviewFlag } from '../flags/reviews.js';
import { verdictFor } from '../scan/verdict.js';

export function visibleRouting(flag: ReviewFlag, deliveries: readonly Delivery[], routes: Record<string, Route>): { flag: ReviewFlag; deliveries: Delivery[] } {
  if (flag.hiddenFindings === 0) return { flag, deliveries: [...deliveries] };
  const visible = verdictFor(flag.report.findings, routes).routes;
  return {
    flag: { ...flag, report: { ...flag.report, routes: visible } },
    deliveries: deliveries.filter((d) => d.routes.some((route) => visible.includes(route))),
  };
}
