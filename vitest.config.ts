import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

/**
 * Unit tests sit next to the code; multi-process tests are `*.integration.test.ts`.
 * `npm test` builds dist/ first: integration tests run the real `tokios` CLI from it.
 */
export default defineConfig({
  test: {
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          environment: 'node',
          include: ['main/**/*.test.ts', 'shared/**/*.test.ts', 'e2e/support/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', 'node_modules/**', 'dist/**'],
        },
      },
      {
        extends: true,
        plugins: [react()],
        test: {
          name: 'renderer',
          environment: 'happy-dom',
          include: ['renderer/**/*.test.{ts,tsx}'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          environment: 'node',
          include: ['main/**/*.integration.test.ts', 'e2e/integration/**/*.integration.test.ts', 'e2e/faults/**/*.integration.test.ts'],
        },
      },
    ],
  },
});
