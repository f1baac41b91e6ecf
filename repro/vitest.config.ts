import { defineConfig } from 'vitest/config';

// The review's failing tests: `npx vitest run -c repro/vitest.config.ts`.
export default defineConfig({ test: { include: ['repro/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 60_000 } });
