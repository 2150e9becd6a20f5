import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`): the app run as a process against the loopback servers and a
 * real Redis, with faults injected at every step of a publish. Separate from `npm test` (slower, and
 * some scenarios document behaviour still being fixed).
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.fault.test.ts'],
    globalSetup: ['test/faults/report-setup.ts'],
    // Each scenario bounds its own waits; these are backstops.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores: two files at a time, each with its own app processes, Redis and servers.
    maxWorkers: 2,
  },
});
