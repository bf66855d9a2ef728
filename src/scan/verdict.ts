/** A message's verdict from its findings: categories, highest severity, and the routes they trigger. */
import { matchesCategory, type Route } from '../config/schema.js';
import { highestSeverity, severityRank, type Finding, type Verdict } from './types.js';

function routesFor(findings: readonly Finding[], routes: Record<string, Route>): string[] {
  return Object.entries(routes)
    .filter(([, route]) =>
      findings.some(
        (f) => severityRank(f.severity) >= severityRank(route.minSeverity) && route.categories.some((p) => matchesCategory(p, f.category)),
      ),
    )
    .map(([name]) => name);
}

export function verdictFor(findings: Finding[], routes: Record<string, Route>): Verdict {
  const severity = highestSeverity(findings.map((f) => f.severity));
  return {
    flagged: findings.length > 0,
    categories: [...new Set(findings.map((f) => f.category))].sort(),
    severity,
    urgent: severity === 'urgent',
    findings: [...findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || b.score - a.score),
    routes: routesFor(findings, routes),
  };
}
