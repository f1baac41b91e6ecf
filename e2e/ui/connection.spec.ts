import { tokios as startTokios } from '../support/processes.js';
import { expect, serveAppForFile, test } from './tokios-fixture.js';

/**
 * Headless mode when the app goes away: the page stops showing green and says since when;
 * when a new run answers at the same address, the old tab says to open the new URL.
 */

serveAppForFile();

test('app stopped: no stale green; app restarted: the old tab points to the new URL', async ({ tokios, page, app }) => {
  test.setTimeout(120_000);
  // The browser logs each failed reconnection attempt while the app is down; that is the point here.
  tokios.allowConsoleErrors(/WebSocket connection to .* failed|Failed to load resource|ERR_CONNECTION_REFUSED/);
  await tokios.createFromDetected('Ollama', 'watched');
  await tokios.expectState('watched', 'online');
  const port = new URL(app.origin).port;

  await app.serve.stop(10_000);
  await expect(page.getByRole('alert').filter({ hasText: 'Tokios is not answering' })).toContainText(/The states below are as of \d\d:\d\d:\d\d/);
  await expect(tokios.row('watched').locator('.state')).toHaveText('unknown');
  await expect(page.getByText('No connection to Tokios')).toBeVisible();
  await tokios.shot('connection-lost');

  // A new run on the same address: it has a new secret this tab does not know.
  app.serve = startTokios(['serve', '--data', app.dataDir, '--port', port, '--gateway-port', '0', '--detect', app.ollama.url, '--detect', app.llama.url]);
  await app.serve.waitFor(/^http:\/\/127\.0\.0\.1:\d+\/#secret=\S+$/m, 30_000);
  await expect(page.getByRole('alert')).toContainText('Tokios was restarted, and this tab belongs to its previous run. Open the URL the new run printed', { timeout: 30_000 });
});
