import { expect, readClipboard, serveAppForFile, test } from './tokios-fixture.js';

/** First run, keyboard only: from "found Ollama" to the lines to paste into an agent, and they work. */

serveAppForFile();
test.use({ firstRun: true });

test('found Ollama → deployed → online and tested → a snippet that works from a client', async ({ tokios, page, app, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await expect(page.getByRole('heading', { name: 'Get started', level: 1 })).toBeVisible();
  await expect(page.getByText(/Found Ollama at/)).toContainText(app.ollama.url);
  await tokios.shot('01-get-started');

  const deploy = page.getByRole('button', { name: "Deploy gemma3:4b as 'gemma3-4b'" });
  await tokios.tabTo(deploy);
  await page.keyboard.press('Enter');
  await expect(page.getByText(/Tunnel for gemma3-4b/)).toContainText('online', { timeout: 20_000 });

  // The test request, sent with Ctrl+Enter from the message box.
  const message = page.getByLabel('Message to gemma3-4b');
  await tokios.tabTo(message);
  await page.keyboard.press('Control+Enter');
  await expect(page.getByLabel('Reply')).toHaveText(/^Hello from ollama\.( word\d+){11}$/);

  // Step 3: the snippets; arrow keys move between the clients.
  const tabs = page.getByRole('tablist', { name: 'Client' });
  await tokios.tabTo(tabs.getByRole('tab', { selected: true }));
  await page.keyboard.press('ArrowRight');
  await expect(tabs.getByRole('tab', { name: 'curl' })).toHaveAttribute('aria-selected', 'true');
  await tokios.expectFocused(tabs.getByRole('tab', { name: 'curl' }));
  for (const client of ['Python', 'Continue', 'Cline']) {
    await page.keyboard.press('ArrowRight');
    await expect(tabs.getByRole('tab', { name: client })).toHaveAttribute('aria-selected', 'true');
  }
  await expect(page.getByLabel('Cline snippet', { exact: true })).toContainText('Model ID:  gemma3-4b');
  await page.keyboard.press('ArrowRight');
  await expect(page.getByLabel('OpenAI SDK snippet', { exact: true })).toContainText('export OPENAI_BASE_URL=http://127.0.0.1:');
  await tokios.shot('02-get-started-done');

  // What the Copy button puts on the clipboard is real and works with any HTTP client.
  const copy = page.getByRole('button', { name: 'Copy OpenAI SDK snippet' });
  await tokios.tabTo(copy);
  await page.keyboard.press('Enter');
  await expect(copy).toHaveText('Copied');
  const copied = await readClipboard(page);
  const base = /OPENAI_BASE_URL=(\S+)/.exec(copied)![1]!;
  const key = /OPENAI_API_KEY=(\S+)/.exec(copied)![1]!;
  expect(key).toMatch(/^sk-tokios-[A-Za-z0-9_-]{43}$/);
  const models = await fetch(`${base}/models`, { headers: { authorization: `Bearer ${key}` } });
  expect(((await models.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual(['gemma3-4b']);
  expect(await page.content()).not.toContain(key);

  // Done: the guide hands over to the deployment's page, focus on its title.
  await tokios.tabTo(page.getByRole('button', { name: 'Done' }));
  await page.keyboard.press('Enter');
  await tokios.expectFocused(page.getByRole('heading', { name: 'gemma3-4b', level: 1 }));
});

test('detected servers: "Look there too" says what it found, or that nothing answers yet', async ({ tokios, page, app }) => {
  await tokios.go('Detected servers');
  await expect(page.getByTestId('detected-ollama')).toContainText('gemma3:4b');
  await expect(page.getByTestId('detected-llamacpp')).toContainText('llama-3.2-1b-instruct');
  // Both cards keep their button on the same line, whatever their contents.
  const buttons = page.getByRole('button', { name: /^Create deployment from/ });
  const tops = await buttons.evaluateAll((els) => els.map((el) => Math.round(el.getBoundingClientRect().top)));
  if (page.viewportSize()!.width >= 1000) expect(new Set(tops).size).toBe(1);
  await tokios.shot('detected');

  const field = page.getByLabel('Another OpenAI-compatible server');
  await field.fill('127.0.0.1:9');
  await page.keyboard.press('Enter');
  await expect(page.getByText('Nothing answers at 127.0.0.1:9 yet. Tokios keeps looking there every few seconds')).toBeVisible();
  // The llama.cpp server again, typed without its scheme: found, and said so.
  await field.fill(app.llama.url.replace('http://', ''));
  await page.keyboard.press('Enter');
  await expect(page.getByText(`Found llama.cpp at ${app.llama.url} with 1 model.`)).toBeVisible();
});
