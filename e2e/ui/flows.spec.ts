import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { workerPids } from '../support/processes.js';
import { expect, test } from './tokios-fixture.js';

/** Every user flow of issue 4, in a real browser against the real app. */

test('detect → create → online → a test request streams a reply → it shows in recent requests', async ({ tokios, page, app, context }) => {
  await tokios.tab('Detected servers').click();
  await expect(page.getByTestId('detected-ollama')).toContainText('gemma3:4b');
  await expect(page.getByTestId('detected-llamacpp')).toContainText('llama-3.2-1b-instruct');
  await tokios.shot('01-detected');

  await page.getByRole('button', { name: /^Create deployment from Ollama/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Add deployment' });
  await expect(dialog.getByLabel('Name')).toHaveValue('gemma3-4b');
  await expect(dialog.getByLabel('Upstream model')).toHaveValue('gemma3:4b');
  await dialog.getByLabel('Name').fill('gemma-tunnel');
  await tokios.shot('02-create');
  await dialog.getByRole('button', { name: 'Save' }).click();

  // The detail page of the new deployment: its tunnel comes up.
  await expect(page.getByRole('heading', { name: 'gemma-tunnel' })).toBeVisible();
  await expect(page.locator('.toolbar .state')).toHaveText('online', { timeout: 20_000 });

  await page.getByLabel('Message to gemma-tunnel').fill('Hello?');
  await page.getByRole('button', { name: 'Send test request' }).click();
  // Streams: part of the reply shows while the upstream is still generating.
  await expect(page.getByLabel('Reply')).toContainText('Hello from ollama.');
  await expect(page.getByText(/Streaming… first token after/)).toBeVisible();
  await expect(page.getByText(/Done in .* · first token after .* · 12 tokens/)).toBeVisible();
  await expect(page.getByLabel('Reply')).toHaveText(/Hello from ollama\.( word\d+){11}$/);
  const reached = app.ollama.requestsTo('/v1/chat/completions').at(-1)!;
  expect((reached.json as { model: string }).model).toBe('gemma3:4b');

  const requests = page.getByRole('region', { name: 'Recent requests' }).or(page.locator('section:has(> #requests-title)'));
  await expect(requests.getByRole('row').nth(1)).toContainText('/v1/chat/completions', { timeout: 10_000 });
  await expect(requests.getByRole('row').nth(1)).toContainText('200');
  await tokios.shot('03-detail-after-test');

  // The API key copied from the Gateway page works from any client.
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await tokios.tab('Gateway').click();
  await page.getByRole('button', { name: 'Copy API key' }).click();
  const key = await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText());
  expect(key).toMatch(/^sk-tokios-/);
  const base = (await page.getByTestId('gateway-url').textContent())!;
  const models = await fetch(`${base}/models`, { headers: { authorization: `Bearer ${key}` } });
  expect(((await models.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual(['gemma-tunnel']);
  // The page itself never keeps the key.
  expect(await page.content()).not.toContain(key);
  await tokios.shot('04-gateway');
});

test('a bad token gets a clear error, before and after saving', async ({ tokios, page }) => {
  await tokios.tab('Deployments').click();
  await page.getByRole('button', { name: 'Add deployment' }).first().click();
  const dialog = page.getByRole('dialog', { name: 'Add deployment' });
  await dialog.getByLabel('Name').fill('bad-token');
  await dialog.getByLabel('Tunnel token').fill('sk-tokios-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg');
  await dialog.getByLabel('Tunnel token').blur();
  await expect(dialog.getByText(/looks like an API key \(sk-tokios-…\), not a tunnel token/)).toBeVisible();

  // Well-formed, but not one this gateway issued.
  await dialog.getByLabel('Tunnel token').fill('tt-ThisTokenWasNeverIssuedByThisGateway00000000');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog.getByRole('alert')).toContainText('Tunnel token rejected');
  await tokios.shot('bad-token');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByText('No deployments yet')).toBeVisible();
});

test('reusing a name explains the swap, and traffic moves to the new backend', async ({ tokios, page }) => {
  await tokios.createFromDetected('Ollama', 'assistant');
  await expect(page.locator('.toolbar .state')).toHaveText('online', { timeout: 20_000 });
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(page.getByLabel('Reply')).toContainText('Hello from ollama.');

  await tokios.tab('Detected servers').click();
  await page.getByRole('button', { name: /^Create deployment from llama\.cpp/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Add deployment' });
  await dialog.getByLabel('Name').fill('assistant');
  await expect(dialog.getByRole('note')).toContainText("'assistant' is already the name of the deployment for http://127.0.0.1:");
  await expect(dialog.getByRole('note')).toContainText('Saving swaps its backend');
  await expect(dialog.getByRole('button', { name: 'Swap backend' })).toBeDisabled();
  await dialog.getByLabel("Swap the backend of 'assistant'").check();
  await tokios.shot('swap-confirm');
  await dialog.getByRole('button', { name: 'Swap backend' }).click();

  await expect(page.locator('.toolbar .state')).toHaveText('online', { timeout: 20_000 });
  await expect(page.getByText(/llama\.cpp at http/)).toBeVisible();
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(page.getByLabel('Reply')).toContainText('Hello from llama.cpp.');
  // The old deployment is retired once the new one serves the name: one 'assistant' left.
  await tokios.tab('Deployments').click();
  await expect(page.getByTestId('deployment-assistant')).toHaveCount(1, { timeout: 20_000 });
  await expect(tokios.row('assistant')).toContainText('llama');
});

test('stop and start from the list', async ({ tokios, page }) => {
  await tokios.createFromDetected('Ollama', 'toggle-me');
  await tokios.expectState('toggle-me', 'online');
  const toggle = page.getByRole('switch', { name: 'Run toggle-me' });
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
  await toggle.click();
  await tokios.expectState('toggle-me', 'stopped');
  await expect(toggle).toHaveAttribute('aria-checked', 'false');
  await expect(page.getByText('0 of 1 online')).toBeVisible();
  await tokios.shot('stopped');
  // Keyboard works too.
  await toggle.focus();
  await page.keyboard.press('Space');
  await tokios.expectState('toggle-me', 'online');
  await expect(page.getByText('1 of 1 online')).toBeVisible();
});

test('a crash-looping deployment is shown as such, with a retry that works', async ({ tokios }) => {
  test.setTimeout(120_000);
  await tokios.createFromDetected('llama.cpp', 'fragile');
  await tokios.expectState('fragile', 'online');
  // Its worker keeps getting killed (as an OOM killer would): 5 exits within a minute.
  const killed = new Set<number>();
  for (let exits = 0; exits < 5; exits++) {
    await expect.poll(() => workerPids('fragile').filter((p) => !killed.has(p)).length, { timeout: 20_000 }).toBeGreaterThan(0);
    for (const pid of workerPids('fragile').filter((p) => !killed.has(p))) {
      process.kill(pid, 'SIGKILL');
      killed.add(pid);
    }
  }
  await tokios.expectState('fragile', 'keeps crashing', 20_000);
  await expect(tokios.row('fragile')).toContainText(/exited 5 times within 60 s/);
  await tokios.shot('crash-looping');
  await tokios.row('fragile').getByRole('button', { name: 'Retry' }).click();
  await tokios.expectState('fragile', 'online');
});

test('export warns about the token, writes 0600, and imports back the same', async ({ tokios, page, app }) => {
  await tokios.createFromDetected('Ollama', 'portable');
  await expect(page.locator('.toolbar .state')).toHaveText('online', { timeout: 20_000 });
  await page.getByRole('button', { name: 'Export tokios.json' }).click();
  const dialog = page.getByRole('dialog', { name: 'Export portable' });
  await expect(dialog).toContainText("holds this deployment's tunnel token");
  const target = join(app.dataDir, '..', 'tokios-portable.json');
  await dialog.getByLabel(/Save as/).fill(target);
  await dialog.getByRole('button', { name: 'Export' }).click();
  await expect(dialog.getByRole('status')).toContainText(target);
  await expect(dialog).toContainText('contains the tunnel token');
  await tokios.shot('exported');
  await dialog.getByRole('button', { name: 'Done' }).click();
  expect(statSync(target).mode & 0o777).toBe(0o600);
  const exported = JSON.parse(readFileSync(target, 'utf8')) as Record<string, string>;
  expect(exported).toMatchObject({ name: 'portable', upstream: app.ollama.url, model: 'gemma3:4b' });
  expect(exported.tunnel_token).toMatch(/^tt-/);
  // The UI never showed the token itself.
  expect(await page.content()).not.toContain(exported.tunnel_token);

  await page.getByRole('button', { name: 'Remove' }).click();
  await page.getByRole('dialog', { name: 'Remove portable' }).getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByText('No deployments yet')).toBeVisible();

  await page.getByRole('button', { name: 'Import tokios.json' }).click();
  const importer = page.getByRole('dialog', { name: 'Import tokios.json' });
  await importer.getByLabel('File').setInputFiles(target);
  await importer.getByRole('button', { name: 'Import' }).click();
  await expect(page.getByRole('heading', { name: 'portable' })).toBeVisible();
  await expect(page.locator('.toolbar .state')).toHaveText('online', { timeout: 20_000 });
  await expect(page.getByText(`Ollama at ${app.ollama.url} · model gemma3:4b`)).toBeVisible();
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(page.getByLabel('Reply')).toContainText('Hello from ollama.');
});
