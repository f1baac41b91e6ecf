import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTokios, tempDir, tokios as startTokios } from '../support/processes.js';
import { expect, readClipboard, serveAppForFile, test } from './tokios-fixture.js';

/** The gateway page: switching checked first, key rotation, exports through the browser, import, theme. */

serveAppForFile();

test('a wrong hosted-gateway URL is found out in the dialog and nothing stops; a right one takes over, and back', async ({ tokios, page }) => {
  test.setTimeout(120_000);
  await tokios.createFromDetected('Ollama', 'movable');
  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
  await tokios.go('Gateway');
  await page.getByRole('button', { name: 'Switch to a hosted gateway…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Switch to a hosted gateway' });
  await dialog.getByLabel('Gateway URL').fill('http://127.0.0.1:9');
  await dialog.getByRole('button', { name: 'Check gateway' }).click();
  await expect(dialog.getByRole('alert')).toContainText('Nothing answers at http://127.0.0.1:9');
  await expect(dialog.getByRole('button', { name: 'Switch gateway' })).toHaveCount(0);
  await tokios.shot('switch-gateway-wrong');
  await page.keyboard.press('Escape');
  await expect(page.getByText('Built into this app, listening on this computer only.')).toBeVisible();
  await tokios.expectState('movable', 'online');

  // A real hosted gateway (another process), with its own API key.
  const dir = tempDir('tokios-hosted-');
  const hosted = startTokios(['gateway', '--port', '0', '--data', dir.path]);
  try {
    const url = (await hosted.waitFor(/(http:\/\/127\.0\.0\.1:\d+)/, 20_000))[1]!;
    // An admin key: the app creates tunnel tokens and registers names with it.
    const key = (await runTokios(['key', 'create', '--data', dir.path, '--scope', 'admin'])).stdout.trim().split('\n').at(-1)!;
    await tokios.go('Gateway');
    await page.getByRole('button', { name: 'Switch to a hosted gateway…' }).click();
    await dialog.getByLabel('Gateway URL').fill(url);
    await dialog.getByLabel(/^Its API key/).fill(key);
    await dialog.getByRole('button', { name: 'Check gateway' }).click();
    await expect(dialog.getByRole('status')).toContainText(`${url} answers`);
    await expect(dialog.getByRole('status')).toContainText('stop reaching your deployments');
    await expect(dialog.getByRole('status')).toContainText("'movable' gets a new tunnel token from");
    await tokios.shot('switch-gateway-check');
    await dialog.getByRole('button', { name: 'Switch gateway' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByText(`A hosted gateway at ${url}.`)).toBeVisible();
    await tokios.expectState('movable', 'online');
    const through = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'movable', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(through.status).toBe(200);

    await tokios.go('Gateway');
    await page.getByRole('button', { name: 'Use the built-in gateway' }).click();
    await expect(page.getByText('Built into this app, listening on this computer only.')).toBeVisible();
    await tokios.expectState('movable', 'online');
  } finally {
    await hosted.stop();
    dir.remove();
  }
});

test('rotating the API key warns first; the old key stops working at once', async ({ tokios, page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await tokios.go('Gateway');
  await page.getByRole('button', { name: 'Copy API key' }).click();
  await expect(page.getByRole('button', { name: 'Copy API key' })).toHaveText('Copied');
  const old = await readClipboard(page);
  const base = (await page.getByTestId('gateway-url').textContent())!;
  const models = (key: string): Promise<number> => fetch(`${base}/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);
  expect(await models(old)).toBe(200);

  const rotate = page.getByRole('button', { name: 'Rotate…' });
  await rotate.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Rotate the API key' });
  await expect(dialog).toContainText('Every client that uses the current key gets "invalid API key" (401) at once');
  await tokios.expectFocused(dialog.getByRole('button', { name: 'Cancel' }));
  await dialog.getByRole('button', { name: 'Rotate key' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('status').filter({ hasText: 'The API key was replaced' })).toBeVisible();
  expect(await models(old)).toBe(401);
  await expect(page.getByRole('button', { name: 'Copy API key' })).toHaveText('Copy');
  await page.getByRole('button', { name: 'Copy API key' }).click();
  await expect(page.getByRole('button', { name: 'Copy API key' })).toHaveText('Copied');
  const fresh = await readClipboard(page);
  expect(fresh).not.toBe(old);
  expect(await models(fresh)).toBe(200);
  await tokios.shot('gateway');
});

test('export is the browser\'s download (the page never names a path), and import shows the token masked', async ({ tokios, page, app }) => {
  await tokios.createFromDetected('Ollama', 'portable');
  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
  await page.getByRole('button', { name: 'Export tokios.json' }).click();
  const dialog = page.getByRole('dialog', { name: 'Export portable' });
  await expect(dialog).toContainText("holds this deployment's tunnel token");
  await expect(dialog.getByRole('textbox')).toHaveCount(0);
  const downloading = page.waitForEvent('download');
  await dialog.getByRole('button', { name: 'Download' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('tokios-portable.json');
  const saved = join(app.dataDir, '..', 'downloaded.json');
  await download.saveAs(saved);
  await expect(dialog.getByRole('status')).toContainText('Your browser is saving tokios-portable.json');
  await expect(dialog).toContainText('make it owner-only (chmod 600)');
  await expect(dialog).toContainText('tokios connect --config tokios-portable.json --gateway URL');
  await expect(dialog).toContainText('listens on this computer only');
  const exported = JSON.parse(readFileSync(saved, 'utf8')) as Record<string, string>;
  expect(exported).toMatchObject({ name: 'portable', upstream: app.ollama.url, model: 'gemma3:4b' });
  expect(exported.tunnel_token).toMatch(/^tt-/);
  expect(await page.content()).not.toContain(exported.tunnel_token);
  await dialog.getByRole('button', { name: 'Done' }).click();

  await page.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog', { name: 'Remove portable' }).getByRole('button', { name: 'Remove' }).click();
  await tokios.go('Deployments');
  await page.getByRole('button', { name: 'Import tokios.json' }).click();
  const importer = page.getByRole('dialog', { name: 'Import tokios.json' });
  await importer.getByLabel('File').setInputFiles(saved);
  const summary = importer.getByRole('definition').filter({ hasText: /^tt-/ });
  await expect(summary).toHaveText(/^tt-.{4}….{4}$/);
  expect(await page.content()).not.toContain(exported.tunnel_token);
  await tokios.shot('import');
  await importer.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByRole('heading', { name: 'portable', level: 1 })).toBeVisible();
  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(page.getByLabel('Reply')).toContainText('Hello from ollama.');
});

test('the theme follows the system, or what Settings says', async ({ tokios, page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
  await tokios.go('Settings');
  await page.getByRole('radio', { name: 'Dark' }).check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await tokios.shot('settings-dark');
  await tokios.go('Deployments');
  await tokios.shot('deployments-dark');
  await tokios.go('Settings');
  await page.getByRole('radio', { name: 'Follow the system' }).check();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'light');
});
