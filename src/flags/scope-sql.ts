/**
 * The SQL of a reviewer's scope, in one place: the flag list, the flag page, outcomes, precision
 * and the dashboard's counts all select the flags a scope covers with these conditions.
 */
import type { FlagScope } from './review-types.js';

/** Parameters of one statement: each value gets the next `$n`, so nothing from a filter is ever spliced into SQL. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** A LIKE pattern matching `text` literally (with `ESCAPE '\'`). */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** `prefix.*` covers the category `prefix` and everything beneath it; anything else is exact. */
function categoryCondition(pattern: string, params: Params, column: string): string {
  if (!pattern.endsWith('.*')) return `${column} = ${params.add(pattern)}`;
  const prefix = pattern.slice(0, -2);
  return `(${column} = ${params.add(prefix)} OR ${column} LIKE ${params.add(`${likeLiteral(prefix)}.%`)} ESCAPE '\\')`;
}

/**
 * Whether the category in `column` is one the scope may see: a category_prefix scope (a DPO) sees
 * only the categories under its prefix, even of a flag that also matched others; other scopes see every one.
 */
export function visibleCategory(scope: FlagScope, params: Params, column: string): string {
  return scope.kind === 'category_prefix' ? categoryCondition(`${scope.prefix}.*`, params, column) : 'TRUE';
}

/**
 * Flags (aliased `alias`) with any category the scope may see matching one of the patterns (exact,
 * or `prefix.*`): for a DPO a pattern outside the prefix matches nothing, so it cannot probe a flag's other categories.
 */
export function anyCategory(patterns: readonly string[], scope: FlagScope, params: Params, alias: string): string {
  const conditions = patterns.map((pattern) => categoryCondition(pattern, params, 'c.category'));
  return `EXISTS (SELECT 1 FROM unnest(${alias}.categories) AS c(category) WHERE ${visibleCategory(scope, params, 'c.category')} AND (${conditions.join(' OR ')}))`;
}

/** The categories of the flag aliased `alias` that the scope may see, in their order. */
export function visibleCategories(scope: FlagScope, params: Params, alias: string): string {
  if (scope.kind !== 'category_prefix') return `${alias}.categories`;
  return `ARRAY(SELECT c.category FROM unnest(${alias}.categories) WITH ORDINALITY AS c(category, n) WHERE ${visibleCategory(scope, params, 'c.category')} ORDER BY c.n)`;
}

/** The flags (aliased `alias`) a scope covers. */
export function scopeCondition(scope: FlagScope, params: Params, alias: string): string {
  switch (scope.kind) {
    case 'all':
      return 'TRUE';
    case 'academy':
      return `${params.add(scope.academy)} = ANY(${alias}.academies)`;
    case 'category_prefix':
      return `EXISTS (SELECT 1 FROM unnest(${alias}.categories) AS c(category) WHERE ${visibleCategory(scope, params, 'c.category')})`;
    case 'none':
      return 'FALSE';
  }
}

/** Whether a category is within a category_prefix scope's prefix (the prefix itself or beneath it). */
export function categoryInPrefix(category: string, prefix: string): boolean {
  return category === prefix || category.startsWith(`${prefix}.`);
}
