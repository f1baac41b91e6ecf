import { workerPids } from '../support/processes.js';
import { expect, serveAppForFile, test } from './tokios-fixture.js';

/** Deployments: add (keyboard only), validation as you type, swap, rename, stop/start, crash loops, layout. */

serveAppForFile();

test('add a deployment with the keyboard only: names and URLs are saved as shown, focus stays in the dialog', async ({ tokios, page, app }) => {
  const add = page.getByRole('button', { name: 'Add deployment' });
  await tokios.tabTo(add);
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Add deployment' });
  await tokios.expectFocused(dialog.getByLabel('Name'));

  await page.keyboard.type('my llama');
  await expect(dialog.getByText("Saved as 'my-llama': names cannot contain spaces.")).toBeVisible();

  // Nothing listens there: said, not blocking.
  await page.keyboard.press('Tab');
  await tokios.expectFocused(dialog.getByLabel('Model server URL'));
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('127.0.0.1:9');
  await expect(dialog.getByText(/Saved as http:\/\/127\.0\.0\.1:9\. Nothing answers at http:\/\/127\.0\.0\.1:9 yet\. You can save anyway/)).toBeVisible();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type(app.llama.url.replace('http://', ''));
  await expect(dialog.getByText(/llama\.cpp answers here with 1 model/)).toBeVisible();
  await tokios.shot('add-deployment');

  // Tab cycles inside the dialog; nothing behind it gets focus.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    expect(await dialog.evaluate((el) => el.contains(el.ownerDocument.activeElement))).toBe(true);
  }
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Shift+Tab');
    expect(await dialog.evaluate((el) => el.contains(el.ownerDocument.activeElement))).toBe(true);
  }

  await tokios.tabTo(dialog.getByLabel('Name'));
  await page.keyboard.press('Enter'); // submits the form
  await expect(dialog).toBeHidden();
  // The new deployment's page, with focus on its title.
  await tokios.expectFocused(page.getByRole('heading', { name: 'my-llama', level: 1 }));
  await expect(page.getByText(`llama.cpp at ${app.llama.url}`)).toBeVisible();
  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
});

test('a token the gateway did not issue is caught as it is pasted, next to the field; Escape returns focus', async ({ tokios, page }) => {
  await tokios.go('Deployments');
  const add = page.getByRole('button', { name: 'Add deployment' });
  await add.focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Add deployment' });
  await dialog.getByLabel('Name').fill('bad-token');
  const token = dialog.getByLabel('Tunnel token');
  await token.fill('sk-tokios-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg');
  await expect(dialog.getByRole('alert')).toHaveText(/looks like an API key \(sk-tokios-…\), not a tunnel token/);
  await token.fill('tt-ThisTokenWasNeverIssuedByThisGateway00000000');
  // No Save needed: the gateway is asked at once, and the answer is in words, at the field.
  await expect(dialog.getByRole('alert')).toHaveText(/did not issue this token \(or it was revoked\)\. Leave the field empty to let the app create one/);
  await expect(token).toHaveAttribute('aria-invalid', 'true');
  await tokios.shot('bad-token');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await tokios.expectFocused(add);
});

test('reusing a name explains the swap, and traffic moves to the new backend', async ({ tokios, page }) => {
  await tokios.createFromDetected('Ollama', 'assistant');
  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(page.getByLabel('Reply')).toContainText('Hello from ollama.');

  await tokios.go('Detected servers');
  await page.getByRole('button', { name: /^Create deployment from llama\.cpp/ }).click();
  const dialog = page.getByRole('dialog', { name: 'Add deployment' });
  await dialog.getByLabel('Name').fill('assistant');
  await expect(dialog.getByRole('note')).toContainText("'assistant' is already the name of the deployment for http://127.0.0.1:");
  await expect(dialog.getByRole('note')).toContainText('Saving swaps its backend');
  await expect(dialog.getByRole('button', { name: 'Swap backend' })).toBeDisabled();
  await dialog.getByLabel("Swap the backend of 'assistant'").check();
  await dialog.getByRole('button', { name: 'Swap backend' }).click();

  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
  await expect(page.getByText(/llama\.cpp at http/)).toBeVisible();
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(page.getByLabel('Reply')).toContainText('Hello from llama.cpp.');
  await tokios.go('Deployments');
  await expect(page.getByTestId('deployment-assistant')).toHaveCount(1, { timeout: 20_000 });
  await page.getByRole('button', { name: 'Open assistant' }).click();
  await expect(page.getByText(/^llama\.cpp at http/)).toBeVisible();
});

test('renaming warns that clients of the old name will get "model not found"', async ({ tokios, page }) => {
  await tokios.createFromDetected('Ollama', 'old-name');
  await page.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit old-name' });
  await dialog.getByLabel('Name').fill('new-name');
  await expect(dialog.getByRole('note')).toContainText(`Clients that use 'old-name' will get "model not found"`);
  await dialog.getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByRole('heading', { name: 'new-name', level: 1 })).toBeVisible();
});

test('stopped means no rates, not the last ones; totals stay and agree with the requests', async ({ tokios, page }) => {
  await tokios.createFromDetected('Ollama', 'rates');
  await expect(tokios.detailState()).toHaveText('online', { timeout: 20_000 });
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(page.getByLabel('Reply')).toContainText('Hello from ollama.');
  const tile = (label: RegExp) => page.locator('.tile').filter({ has: page.locator('dt', { hasText: label }) }).locator('dd');
  await expect(tile(/^Tokens \/ s/)).not.toHaveText('—');
  await expect(tile(/^Requests since start/)).toHaveText('1');
  await expect(page.getByRole('region', { name: 'Recent requests' }).getByRole('row')).toHaveCount(2);
  // Who serves the name at the gateway: this app's connector, one member.
  const members = page.getByRole('table', { name: 'Connectors serving this deployment' });
  await expect(members.locator('tbody tr')).toHaveCount(1);
  await expect(members.locator('tbody tr td').nth(1)).toHaveText('Serving');
  // A few seconds of chart, with the request in it, for the screenshot.
  await expect.poll(() => page.locator('.chart canvas').count()).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Send test request' }).click();
  await expect(tile(/^Requests since start/)).toHaveText('2');
  await expect(page.getByText(/^Done in/)).toBeVisible();
  await tokios.shot('deployment-detail');

  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(tokios.detailState()).toHaveText('stopped');
  await expect(tile(/^Tokens \/ s/)).toHaveText('—');
  await expect(tile(/^Requests \/ min/)).toHaveText('—');
  await expect(tile(/^Requests since start/)).toHaveText('2');
  // Its connector left the gateway: no member is listed.
  await expect(members).toHaveCount(0);
  await tokios.go('Deployments');
  await expect(tokios.row('rates').locator('td[data-col="requests-per-minute"]')).toHaveText('—');
  await expect(tokios.row('rates').locator('td[data-col="tokens-per-second"]')).toHaveText('—');

  // Keyboard: the switch toggles with Space.
  const toggle = page.getByRole('switch', { name: 'Run rates' });
  await toggle.focus();
  await page.keyboard.press('Space');
  await tokios.expectState('rates', 'online');
  await expect(toggle).toHaveAttribute('aria-checked', 'true');
});

test('a crash-looping deployment says so, Retry says it is working, and it comes back; columns do not move', async ({ tokios, page }) => {
  test.setTimeout(120_000);
  await tokios.createFromDetected('llama.cpp', 'fragile-deployment-with-a-rather-long-name-for-the-table');
  const name = 'fragile-deployment-with-a-rather-long-name-for-the-table';
  await tokios.expectState(name, 'online');
  // Its worker keeps getting killed (as an OOM killer would): 5 exits within a minute.
  const killed = new Set<number>();
  for (let exits = 0; exits < 5; exits++) {
    await expect.poll(() => workerPids(name).filter((p) => !killed.has(p)).length, { timeout: 20_000 }).toBeGreaterThan(0);
    for (const pid of workerPids(name).filter((p) => !killed.has(p))) {
      process.kill(pid, 'SIGKILL');
      killed.add(pid);
    }
  }
  await tokios.expectState(name, 'keeps crashing', 30_000);
  await expect(page.getByTestId(`deployment-${name}-error`)).toContainText(/exited 5 times within 60 s/);

  // Rows with and without a Retry button keep their columns where they are, and a long name does not wrap.
  const rows = page.locator('table[aria-label="Deployments"] tbody tr[data-testid^="deployment-"]:not([data-testid$="-error"])');
  const boxes = await rows.evaluateAll((trs) => trs.map((tr) => ({ rtt: tr.querySelector('[data-col="rtt"]')!.getBoundingClientRect().left, height: tr.getBoundingClientRect().height })));
  expect(new Set(boxes.map((b) => Math.round(b.rtt))).size).toBe(1);
  expect(new Set(boxes.map((b) => Math.round(b.height))).size).toBe(1);
  await tokios.shot('deployments-crash-looping');

  const retry = page.getByRole('button', { name: `Retry ${name}` });
  await retry.click();
  await expect(page.getByRole('status').filter({ hasText: `Restarting '${name}'…` })).toBeVisible();
  await tokios.expectState(name, 'online');
});
