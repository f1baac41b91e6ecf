import { _electron as electron, expect, test } from '@playwright/test';
import { join } from 'node:path';
import { findElectronBinary } from '../../main/electron-binary.js';
import { startFakeLlamaServer, type FakeLlamaServer } from '../support/fake-llama-server.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { REPO_ROOT, tempDir } from '../support/processes.js';

/**
 * The main flow in the real Electron app (Playwright's _electron). Runs wherever an
 * Electron binary is installed; where none is (this project's CI), it says so and skips.
 */

const binary = findElectronBinary();
if (!binary.path) console.log(`[electron.spec] skipped: ${binary.reason}`);

test.describe('Electron app', () => {
  // Skipped only where no Electron binary is installed (its download is impossible on this
  // project's machines); the reason, with the path looked at, is printed above and in the report.
  test.skip(!binary.path, binary.path ? '' : `Skipped: ${binary.reason}`);

  let ollama: FakeOllama;
  let llama: FakeLlamaServer;
  const dir = tempDir('tokios-electron-');
  test.beforeAll(async () => {
    ollama = await startFakeOllama({ tokenIntervalMs: 40, defaultTokens: 12 });
    llama = await startFakeLlamaServer({ tokenIntervalMs: 40, defaultTokens: 12 });
  });
  test.afterAll(async () => {
    await ollama?.close();
    await llama?.close();
    dir.remove();
  });

  test('detect → create → online → a test request streams a reply', async () => {
    const app = await electron.launch({
      executablePath: binary.path!,
      args: [REPO_ROOT],
      env: { ...process.env, TOKIOS_DATA_DIR: join(dir.path, 'data'), TOKIOS_DETECT_URLS: `${ollama.url},${llama.url}`, TOKIOS_GATEWAY_PORT: '0' },
    });
    try {
      const window = await app.firstWindow();
      await expect(window).toHaveTitle('Tokios');
      // Past the first-run guide (its own spec covers it in the browser).
      await window.evaluate(() => (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem('tokios-welcome-done', '1'));
      // The page has the bridge, and nothing of Node.
      expect(await window.evaluate(() => typeof (globalThis as { tokiosBridge?: unknown }).tokiosBridge)).toBe('object');
      expect(await window.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');

      await window.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Detected servers', exact: true }).click();
      await window.getByRole('button', { name: /^Create deployment from Ollama/ }).click();
      await window.getByRole('dialog', { name: 'Add deployment' }).getByRole('button', { name: 'Save' }).click();
      await expect(window.locator('.page-header .state')).toHaveText('online', { timeout: 30_000 });
      await window.getByRole('button', { name: 'Send test request' }).click();
      await expect(window.getByLabel('Reply')).toContainText('Hello from ollama.');
      await window.screenshot({ path: test.info().outputPath('electron-detail.png') });
    } finally {
      await app.close();
    }
  });
});
