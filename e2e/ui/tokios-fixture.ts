import { test as base, expect, type Page } from '@playwright/test';
import { join } from 'node:path';
import { startFakeLlamaServer, type FakeLlamaServer } from '../support/fake-llama-server.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { tempDir, tokios, type TokiosProcess } from '../support/processes.js';

/**
 * Each test gets its own app: `tokios serve` on a fresh data folder, an Ollama-like and a
 * llama.cpp-like upstream for it to detect, and a page object to drive the UI by role and
 * label, as a user (or a screen reader) would.
 */

export interface App {
  url: string;
  dataDir: string;
  serve: TokiosProcess;
  ollama: FakeOllama;
  llama: FakeLlamaServer;
}

export class TokiosPage {
  constructor(readonly page: Page, readonly app: App) {}

  async open(): Promise<void> {
    await this.page.goto(this.app.url);
    await expect(this.page.getByRole('heading', { name: 'Deployments', exact: true })).toBeVisible();
  }

  tab(name: 'Deployments' | 'Detected servers' | 'Gateway') {
    return this.page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
  }

  row(name: string) {
    return this.page.getByTestId(`deployment-${name}`);
  }

  /** Waits until the deployment shows `words` (its state as the UI says it). */
  async expectState(name: string, words: string, timeout = 20_000): Promise<void> {
    await this.tab('Deployments').click();
    await expect(this.row(name).locator('.state')).toHaveText(words, { timeout });
  }

  async createFromDetected(kind: 'Ollama' | 'llama.cpp', name?: string, token?: string): Promise<void> {
    await this.tab('Detected servers').click();
    await this.page.getByRole('button', { name: new RegExp(`^Create deployment from ${kind.replace('.', '\\.')}`) }).click();
    const dialog = this.page.getByRole('dialog', { name: 'Add deployment' });
    if (name) await dialog.getByLabel('Name').fill(name);
    if (token) await dialog.getByLabel('Tunnel token').fill(token);
    await dialog.getByRole('button', { name: /^(Save|Swap backend)$/ }).click();
  }

  async shot(name: string): Promise<void> {
    await this.page.screenshot({ path: base.info().outputPath(`${name}.png`), fullPage: true });
  }
}

export const test = base.extend<{ app: App; tokios: TokiosPage }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies by destructuring; this one has none
  app: async ({}, use) => {
    const dir = tempDir('tokios-e2e-');
    const ollama = await startFakeOllama({ models: ['gemma3:4b', 'qwen2.5:7b'], tokenIntervalMs: 40, defaultTokens: 12 });
    const llama = await startFakeLlamaServer({ tokenIntervalMs: 40, defaultTokens: 12 });
    const dataDir = join(dir.path, 'data');
    const serve = tokios(['serve', '--data', dataDir, '--gateway-port', '0', '--detect', ollama.url, '--detect', llama.url]);
    const url = (await serve.waitFor(/^(http:\/\/127\.0\.0\.1:\d+\/#secret=\S+)$/m, 20_000))[1]!;
    await use({ url, dataDir, serve, ollama, llama });
    await serve.stop(10_000);
    await ollama.close();
    await llama.close();
    dir.remove();
  },
  tokios: async ({ page, app }, use) => {
    const ui = new TokiosPage(page, app);
    await ui.open();
    await use(ui);
  },
});

export { expect };
