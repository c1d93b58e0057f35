import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real Redis and sandbox servers are shared machine resources: keep parallelism modest.
    maxWorkers: 2,
  },
});
