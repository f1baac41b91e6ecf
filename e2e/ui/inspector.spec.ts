import { expect, readClipboard, serveAppForFile, test, type TokiosPage } from './tokios-fixture.js';

/** The request inspector (refused requests included) and the logs view, keyboard first. */

serveAppForFile();

async function client(tokios: TokiosPage, model: string, key?: string): Promise<number> {
  const base = (await tokios.page.getByTestId('gateway-url').textContent())!;
  const apiKey = key ?? (await readClipboard(tokios.page));
  const response = await fetch(`${base}/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

test('every request shows, refused ones too; filter, search and inspect one with the keyboard', async ({ tokios, page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await tokios.createFromDetected('Ollama', 'inspected');
  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
  await tokios.createFromDetected('llama.cpp', 'parked');
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(tokios.detailState()).toHaveText('stopped');

  await tokios.go('Gateway');
  await page.getByRole('button', { name: 'Copy API key' }).click();
  await expect(page.getByRole('button', { name: 'Copy API key' })).toHaveText('Copied');
  expect(await client(tokios, 'inspected')).toBe(200);
  expect(await client(tokios, 'parked')).toBe(503);
  expect(await client(tokios, 'no-such-model')).toBe(404);
  expect(await client(tokios, 'inspected', 'sk-tokios-ThisKeyWasNeverIssuedByThisGateway000000')).toBe(401);

  // Keyboard: to the Requests page from the sidebar.
  await tokios.tabTo(tokios.nav('Requests'));
  await page.keyboard.press('Enter');
  await tokios.expectFocused(page.getByRole('heading', { name: 'Requests', level: 1 }));
  const table = page.getByRole('table', { name: 'Requests' });
  const rows = table.locator('tbody tr');
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(0)).toContainText('401');
  await expect(rows.nth(1)).toContainText('404');
  await expect(rows.nth(1)).toContainText('no-such-model');
  await expect(rows.nth(2)).toContainText('503');
  await expect(rows.nth(2)).toContainText('parked');
  await expect(rows.nth(3)).toContainText('200');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Requests' })).toBeVisible();

  // The newest is open; arrow keys walk the list and the detail follows.
  const detail = page.getByRole('complementary', { name: 'Selected request' });
  await expect(detail).toContainText('the API key is not one this gateway knows');
  await tokios.tabTo(rows.nth(0));
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await expect(rows.nth(2)).toHaveAttribute('aria-selected', 'true');
  await expect(detail).toContainText('deployment_offline');
  await expect(detail).toContainText('the deployment was offline');
  await page.keyboard.press('ArrowDown');
  await expect(detail).toContainText('gateway and connector');
  await expect(detail.getByRole('img', { name: /^Time to first byte: Gateway .* ms, Tunnel .* ms, Model server .* ms$/ })).toBeVisible();
  await expect(detail).toContainText(/12 out · \d+ in/);
  await tokios.shot('requests');

  // Filters and search.
  await page.getByRole('group', { name: 'Status' }).getByRole('button', { name: 'Failed' }).click();
  await expect(rows).toHaveCount(3);
  await page.getByRole('searchbox', { name: 'Search requests' }).fill('offline');
  await expect(rows).toHaveCount(1);
  await page.getByRole('searchbox', { name: 'Search requests' }).fill('');
  await page.getByRole('group', { name: 'Status' }).getByRole('button', { name: 'All' }).click();
  await page.getByLabel('Deployment', { exact: true }).selectOption({ label: 'inspected' });
  await expect(rows).toHaveCount(1);
  await expect(rows.nth(0)).toContainText('200');

  // The deployment's own page lists its requests, the refused one included.
  await tokios.go('Deployments');
  await page.getByRole('button', { name: 'Open parked' }).click();
  const recent = page.getByRole('region', { name: 'Recent requests' });
  await expect(recent.locator('tbody tr')).toHaveCount(1);
  await expect(recent.locator('tbody tr')).toContainText('503');
  const tile = page.locator('.tile').filter({ has: page.locator('dt', { hasText: /^Errors/ }) }).locator('dd');
  await expect(tile).toHaveText('1');
});

test('logs of the app, the gateway and each worker: filter by source and level, copy what is shown', async ({ tokios, page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await tokios.createFromDetected('Ollama', 'logged');
  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
  await tokios.go('Logs');
  const log = page.getByRole('log', { name: 'Log lines' });
  await expect(log).toContainText("deployment 'logged' created");
  await expect(log).toContainText("serving deployment 'logged'");

  await page.getByLabel('Source').selectOption({ label: 'Worker: logged' });
  await expect(log).toContainText("[connector:logged:");
  await expect(log).not.toContainText('[app/gateway]');
  await page.getByLabel('Source').selectOption({ label: 'Gateway' });
  await expect(log).toContainText("tunnel");
  await expect(log).not.toContainText('[connector:');
  await page.getByLabel('Source').selectOption({ label: 'All sources' });

  await page.getByRole('group', { name: 'Level' }).getByRole('button', { name: 'Errors' }).click();
  await expect(log).toContainText('No line matches.');
  await page.getByRole('group', { name: 'Level' }).getByRole('button', { name: 'All' }).click();
  await tokios.shot('logs');

  await page.getByRole('searchbox', { name: 'Search logs' }).fill('serving deployment');
  await page.getByRole('button', { name: 'Copy shown lines' }).click();
  await expect(page.getByRole('button', { name: 'Copy shown lines' })).toHaveText('Copied');
  const copied = await readClipboard(page);
  expect(copied).toMatch(/INFO {2}logged: \[connector:logged:\d+\] serving deployment 'logged'/);
  expect(copied.split('\n').every((line) => line.includes('serving deployment'))).toBe(true);
  expect(copied).not.toMatch(/tt-[A-Za-z0-9_-]{20,}/);
});
