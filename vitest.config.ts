import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    globalSetup: ['./test/global-setup.ts'],
    // Worker-thread and real-server tests need more than the 5 s default on a loaded 2-core machine.
    testTimeout: 30_000,
    // Two files at once even on 2 cores (vitest's default there is one): most of the suite waits on
    // real servers, timers and leases rather than the CPU, so the whole run takes ~300 s, not ~500 s.
    maxWorkers: 2,
    hookTimeout: 60_000,
  },
});
