import { defineConfig } from '@playwright/test';

/**
 * The UI end to end, in Debian's Chromium, against `tokios serve` backed by the real core,
 * the embedded gateway, real connector workers and the test upstreams. One worker (the
 * flows start processes and bind ports), one served app per spec file; every spec runs at
 * 1280x800 and at 800x600. Screenshots of each page land in e2e/artifacts/screenshots.
 */
export const CHROMIUM = process.env.TOKIOS_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './ui',
  outputDir: './artifacts/test-results',
  workers: 1,
  fullyParallel: false,
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list'], ['html', { outputFolder: './artifacts/report', open: 'never' }]],
  projects: [
    { name: 'wide', use: { viewport: { width: 1280, height: 800 } } },
    { name: 'small', use: { viewport: { width: 800, height: 600 } } },
  ],
  use: {
    browserName: 'chromium',
    screenshot: 'only-on-failure',
    trace: 'retain-on-first-failure',
    launchOptions: {
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    },
  },
});
