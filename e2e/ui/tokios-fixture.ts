import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeLlamaServer, type FakeLlamaServer } from '../support/fake-llama-server.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { REPO_ROOT, tempDir, tokios, type TokiosProcess } from '../support/processes.js';

/**
 * One served app per spec file (and viewport): `tokios serve` on a fresh data folder with
 * an Ollama-like and a llama.cpp-like upstream to detect, started once in `serveAppForFile`
 * and shared by the file's tests, which run in order. Each test gets a fresh page and a page
 * object that drives the UI by role and label, as a user or a screen reader would, and fails
 * on any console error the test did not expect. Screenshots go to e2e/artifacts/screenshots/
 * (ignored by git), one folder per viewport.
 */

export interface App {
  url: string;
  origin: string;
  dataDir: string;
  serve: TokiosProcess;
  ollama: FakeOllama;
  llama: FakeLlamaServer;
}

let current: App | null = null;

/** Starts the file's app before its first test and stops it after its last. */
export function serveAppForFile(): void {
  let dir: ReturnType<typeof tempDir> | null = null;
  base.beforeAll(async () => {
    dir = tempDir('tokios-e2e-');
    const ollama = await startFakeOllama({ models: ['gemma3:4b', 'qwen2.5:7b'], tokenIntervalMs: 40, defaultTokens: 12 });
    const llama = await startFakeLlamaServer({ tokenIntervalMs: 40, defaultTokens: 12 });
    const dataDir = join(dir.path, 'data');
    const serve = tokios(['serve', '--data', dataDir, '--gateway-port', '0', '--detect', ollama.url, '--detect', llama.url]);
    const url = (await serve.waitFor(/^(http:\/\/127\.0\.0\.1:\d+\/#secret=\S+)$/m, 30_000))[1]!;
    current = { url, origin: url.split('/#')[0]!, dataDir, serve, ollama, llama };
  });
  base.afterAll(async () => {
    const app = current;
    current = null;
    await app?.serve.stop(10_000);
    await app?.ollama.close();
    await app?.llama.close();
    dir?.remove();
  });
}

type Section = 'Deployments' | 'Detected servers' | 'Requests' | 'Logs' | 'Gateway' | 'Settings';

export class TokiosPage {
  readonly consoleErrors: string[] = [];
  private allowed: RegExp[] = [];

  constructor(readonly page: Page, readonly app: App) {
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => this.consoleErrors.push(`uncaught: ${error.message}`));
  }

  /** Console errors matching `pattern` are expected in this test (say why at the call). */
  allowConsoleErrors(pattern: RegExp): void {
    this.allowed.push(pattern);
  }

  unexpectedConsoleErrors(): string[] {
    return this.consoleErrors.filter((text) => !this.allowed.some((re) => re.test(text)));
  }

  async open(): Promise<void> {
    await this.page.goto(this.app.url);
    await expect(this.page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await expect(this.page.getByRole('heading', { level: 1 })).toBeVisible();
  }

  nav(name: Section): Locator {
    return this.page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });
  }

  /** Goes to a section with the mouse (keyboard-only tests use `tabTo`). */
  async go(name: Section): Promise<void> {
    await this.nav(name).click();
    await expect(this.nav(name)).toHaveAttribute('aria-current', 'page');
  }

  row(name: string): Locator {
    return this.page.getByTestId(`deployment-${name}`);
  }

  /** The state words of the deployment on its detail page. */
  detailState(): Locator {
    return this.page.locator('.page-header .state');
  }

  async expectState(name: string, words: string, timeout = 20_000): Promise<void> {
    if ((await this.nav('Deployments').getAttribute('aria-current')) !== 'page' || (await this.page.getByRole('heading', { name: 'Deployments', level: 1 }).count()) === 0) await this.go('Deployments');
    await expect(this.row(name).locator('.state')).toHaveText(words, { timeout });
  }

  async createFromDetected(kind: 'Ollama' | 'llama.cpp', name?: string, token?: string): Promise<void> {
    await this.go('Detected servers');
    await this.page.getByRole('button', { name: new RegExp(`^Create deployment from ${kind.replace('.', '\\.')}`) }).click();
    const dialog = this.page.getByRole('dialog', { name: 'Add deployment' });
    if (name) await dialog.getByLabel('Name').fill(name);
    if (token) await dialog.getByLabel('Tunnel token').fill(token);
    await dialog.getByRole('button', { name: /^(Save|Swap backend)$/ }).click();
    await expect(dialog).toBeHidden();
  }

  /** Presses Tab (at most `max` times) until `target` has focus: how a keyboard user gets there. */
  async tabTo(target: Locator, max = 60): Promise<void> {
    for (let i = 0; i < max; i++) {
      if (await target.evaluate((el) => el === el.ownerDocument.activeElement).catch(() => false)) return;
      await this.page.keyboard.press('Tab');
    }
    throw new Error(`could not reach ${target} with Tab in ${max} presses`);
  }

  async expectFocused(target: Locator): Promise<void> {
    await expect.poll(() => target.evaluate((el) => el === el.ownerDocument.activeElement), { timeout: 5000 }).toBe(true);
  }

  /** Saves a screenshot of the page as it is (not committed; README shows two of them). */
  async shot(name: string): Promise<void> {
    const viewport = this.page.viewportSize();
    const dir = join(REPO_ROOT, 'e2e', 'artifacts', 'screenshots', viewport ? `${viewport.width}x${viewport.height}` : 'default');
    mkdirSync(dir, { recursive: true });
    await this.page.screenshot({ path: join(dir, `${name}.png`) });
  }
}

export const test = base.extend<{ firstRun: boolean; app: App; tokios: TokiosPage }>({
  firstRun: [false, { option: true }],
  // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies by destructuring; this one has none
  app: async ({}, use) => {
    if (!current) throw new Error('call serveAppForFile() at the top of the spec file');
    await use(current);
  },
  tokios: async ({ page, app, firstRun }, use) => {
    // Past the first-run guide unless the test is about it.
    if (!firstRun) await page.addInitScript(() => (globalThis as unknown as { localStorage: { setItem(key: string, value: string): void } }).localStorage.setItem('tokios-welcome-done', '1'));
    const ui = new TokiosPage(page, app);
    await ui.open();
    await use(ui);
    expect(ui.unexpectedConsoleErrors(), 'console errors').toEqual([]);
  },
});

/** What the page put on the clipboard (the test granted clipboard-read). */
export function readClipboard(page: Page): Promise<string> {
  return page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
}

export { expect };
