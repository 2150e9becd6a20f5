import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // End-to-end files start their own loopback servers and app processes; two cores, so keep it modest.
    maxWorkers: 2,
  },
});
