import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more workers only fight over them, and the FUSE tests share loop devices.
    pool: 'forks',
    maxWorkers: 2,
  },
});
