/**
 * Once per test run: an initialised PGlite database to copy. PGlite's initdb costs several seconds
 * of CPU; every test file that needs an embedded store copies this directory instead (test/flags/
 * support.ts pgliteBackend), which takes a fraction of a second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openPglite } from '../src/flags/sql.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A closed, freshly initialised PGlite data directory: copy it, never open it in place. */
    pgliteTemplate: string;
  }
}

let root: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  root = mkdtempSync(join(tmpdir(), 'kestrel-pglite-template-'));
  const template = join(root, 'template');
  await (await openPglite(template)).close();
  project.provide('pgliteTemplate', template);
}

export function teardown(): void {
  if (root) rmSync(root, { recursive: true, force: true });
}
