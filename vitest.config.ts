import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // From the root: every package's tests; from a package (`--root .`, what turbo runs): its own.
    include: ['test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: two test files at a time, each with its own databases and servers.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
