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

/** Flags (aliased `alias`) with any category matching one of the patterns (exact, or `prefix.*`). */
export function anyCategory(patterns: readonly string[], params: Params, alias: string): string {
  const conditions = patterns.map((pattern) => categoryCondition(pattern, params, 'c.category'));
  return `EXISTS (SELECT 1 FROM unnest(${alias}.categories) AS c(category) WHERE ${conditions.join(' OR ')})`;
}

/** The flags (aliased `alias`) a scope covers. */
export function scopeCondition(scope: FlagScope, params: Params, alias: string): string {
  switch (scope.kind) {
    case 'all':
      return 'TRUE';
    case 'academy':
      return `${params.add(scope.academy)} = ANY(${alias}.academies)`;
    case 'category_prefix':
      return anyCategory([`${scope.prefix}.*`], params, alias);
    case 'none':
      return 'FALSE';
  }
}

/** Whether a category is within a category_prefix scope's prefix (the prefix itself or beneath it). */
export function categoryInPrefix(category: string, prefix: string): boolean {
  return category === prefix || category.startsWith(`${prefix}.`);
}
