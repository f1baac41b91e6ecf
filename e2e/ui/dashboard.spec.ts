import { test as base, expect, type Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../main/gateway/gateway-server.js';
import type { DeviceCodeResponse } from '../../shared/hosted-api.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { runTokios, tempDir, tokios, writeConfig, type TokiosProcess } from '../support/processes.js';

/**
 * The gateway's web dashboard in Chromium: sign in, create a tunnel token and an API key,
 * watch a deployment come online, see usage after traffic, revoke, approve a device — and
 * the refusals: wrong password, an expired session, a request without its CSRF token.
 *
 * The gateway runs in the test process (the real one, with real connector processes) so
 * the test owns the clock of its policies: "thirteen hours later" is a clock move.
 */

interface Hosted {
  gateway: Gateway;
  dataDir: string;
  upstream: FakeOllama;
  /** Moves the gateway's policy clock (sessions, expiry, limits) forward. */
  advance(ms: number): void;
  account(email: string, password: string): Promise<void>;
  connect(token: string): TokiosProcess;
}

const test = base.extend<{ hosted: Hosted }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies by destructuring; this one has none
  hosted: async ({}, use) => {
    const dir = tempDir('tokios-dashboard-');
    const dataDir = join(dir.path, 'gateway');
    let offset = 0;
    const upstream = await startFakeOllama({ label: 'dash-upstream', tokenIntervalMs: 5 });
    const gateway = await startGateway({ dataDir, port: 0, now: () => Date.now() + offset });
    const started: TokiosProcess[] = [];
    await use({
      gateway, dataDir, upstream,
      advance: (ms) => void (offset += ms),
      account: async (email, password) => {
        const file = join(dir.path, `${email}.pw`);
        writeFileSync(file, `${password}\n`, { mode: 0o600 });
        const result = await runTokios(['account', 'create', '--data', dataDir, '--email', email, '--password-file', file]);
        expect(result.code, result.stderr).toBe(0);
      },
      connect: (token) => {
        const p = tokios(['connect', '--config', writeConfig(dir.path, `tokios-${started.length}.json`, { tunnel_token: token, upstream: upstream.url }), '--gateway', gateway.url]);
        started.push(p);
        return p;
      },
    });
    for (const p of started) await p.stop();
    await gateway.destroy();
    await upstream.close();
    dir.remove();
  },
});

async function signIn(page: Page, url: string, email: string, password: string): Promise<void> {
  await page.goto(url);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await form.getByRole('button', { name: 'Sign in' }).click();
}

/** Creates a credential on the current page and reads its secret from the copy-once dialog. */
async function secretFromDialog(page: Page, what: 'tunnel token' | 'API key'): Promise<string> {
  const dialog = page.getByRole('dialog', { name: `New ${what}` });
  const secret = (await dialog.getByLabel(`New ${what}`, { exact: true }).textContent())!;
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();
  return secret;
}

function chat(url: string, key: string): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'dash-gemma', max_tokens: 4, messages: [{ role: 'user', content: 'Hi' }] }),
  });
}

const PASSWORD = 'correct horse battery';

test('sign in, create a token and a key, see the deployment online and its usage, revoke both', async ({ page, hosted }) => {
  const { gateway, upstream } = hosted;
  await hosted.account('ada@example.com', PASSWORD);

  // Wrong password and unknown email: one answer.
  await signIn(page, gateway.url, 'ada@example.com', 'not the password');
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
  await signIn(page, gateway.url, 'nobody@example.com', PASSWORD);
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');

  await signIn(page, gateway.url, 'ada@example.com', PASSWORD);
  await expect(page.getByTestId('signed-in-as')).toHaveText('ada@example.com');
  await expect(page.getByText('No deployments yet.')).toBeVisible();
  // The session cookie is out of the page's reach.
  expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).toBe('');

  const nav = page.getByRole('navigation', { name: 'Dashboard' });
  await nav.getByRole('button', { name: 'Tunnel tokens' }).click();
  const tokenForm = page.getByRole('form', { name: 'Create a tunnel token' });
  await tokenForm.getByLabel('Deployment name').fill('dash-gemma');
  await tokenForm.getByLabel('Label').fill('laptop');
  await tokenForm.getByRole('button', { name: 'Create token' }).click();
  const token = await secretFromDialog(page, 'tunnel token');
  expect(token).toMatch(/^tt-/);
  await expect(page.getByTestId('token-laptop')).toContainText('dash-gemma');
  expect(await page.content()).not.toContain(token);

  const connector = hosted.connect(token);
  await nav.getByRole('button', { name: 'Deployments' }).click();
  await expect(page.getByTestId('deployment-dash-gemma').locator('.state')).toHaveText('online', { timeout: 20_000 });
  await expect(page.getByTestId('deployment-dash-gemma')).toContainText('Ollama');
  // Its one member: the connector serving it, from this gateway.
  await expect(page.getByTestId('members-dash-gemma').locator('tbody tr')).toHaveCount(1);
  await expect(page.getByTestId('members-dash-gemma').locator('tbody tr')).toContainText('serving');

  await nav.getByRole('button', { name: 'API keys' }).click();
  const keyForm = page.getByRole('form', { name: 'Create an API key' });
  await keyForm.getByLabel('Label').fill('ci');
  await keyForm.getByLabel('Requests/min').fill('100');
  await keyForm.getByRole('button', { name: 'Create key' }).click();
  const key = await secretFromDialog(page, 'API key');
  await expect(page.getByTestId('key-ci')).toContainText('100 rpm');

  const before = upstream.requests.length;
  for (let i = 0; i < 3; i++) expect((await chat(gateway.url, key)).status).toBe(200);
  const reported = upstream.requests.slice(before).map((r) => r.reported!);
  await nav.getByRole('button', { name: 'Usage' }).click();
  await expect(page.getByTestId('usage-requests')).toHaveText('3');
  await expect(page.getByTestId('usage-output-tokens')).toHaveText(String(reported.reduce((s, r) => s + r.output, 0)));
  await expect(page.getByTestId('usage-input-tokens')).toHaveText(String(reported.reduce((s, r) => s + r.input, 0)));
  await expect(page.getByRole('img', { name: /dash-gemma: requests per hour/ })).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('dashboard-usage.png'), fullPage: true });
  await nav.getByRole('button', { name: 'Request log' }).click();
  await expect(page.getByRole('table', { name: 'Request log' }).getByRole('row')).toHaveCount(4);

  // Revoke the key: it stops working within a second.
  page.on('dialog', (d) => void d.accept());
  await nav.getByRole('button', { name: 'API keys' }).click();
  await page.getByRole('button', { name: 'Revoke ci' }).click();
  await expect(page.getByTestId('key-ci')).toContainText('revoked');
  expect((await chat(gateway.url, key)).status).toBe(401);

  // Revoke the token: its connector stops for good, the deployment goes offline.
  await nav.getByRole('button', { name: 'Tunnel tokens' }).click();
  await page.getByRole('button', { name: 'Revoke laptop' }).click();
  expect((await connector.exited).code).toBe(3);
  await nav.getByRole('button', { name: 'Deployments' }).click();
  await expect(page.getByTestId('deployment-dash-gemma').locator('.state')).toHaveText('offline');
});

/** The main flow runs at both window sizes; these, which do not depend on the layout, at the wide one. */
test.describe('refusals, accounts and devices', () => {
  test.skip(({ viewport }) => (viewport?.width ?? 0) < 1000, 'independent of the window size; run at the wide one');

  test('refuses a request without its CSRF token, and an expired session', async ({ page, hosted }) => {
    const { gateway } = hosted;
    await hosted.account('ada@example.com', PASSWORD);
    await signIn(page, gateway.url, 'ada@example.com', PASSWORD);
    await expect(page.getByTestId('signed-in-as')).toHaveText('ada@example.com');

    // The browser sends the session cookie; without the CSRF header nothing changes.
    const noToken = await page.request.post(`${gateway.url}/v1/api-keys`, { data: { label: 'forged' } });
    expect(noToken.status()).toBe(403);
    expect(((await noToken.json()) as { error: { code: string } }).error.code).toBe('csrf_token_invalid');
    const wrongToken = await page.request.post(`${gateway.url}/v1/api-keys`, { data: { label: 'forged' }, headers: { 'x-csrf-token': 'guess' } });
    expect(wrongToken.status()).toBe(403);
    // A form posted from another site is refused before anything else.
    const crossSite = await page.request.post(`${gateway.url}/dashboard/api/sign-out`, { form: { x: '1' } });
    expect(crossSite.status()).toBe(403);
    expect((await (await page.request.get(`${gateway.url}/dashboard/api/session`)).json()) as object).toHaveProperty('csrfToken');
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('button', { name: 'API keys' }).click();
    await expect(page.getByTestId('key-forged')).toHaveCount(0);

    // Thirteen hours later the session (12 h) has ended: the next call sends the page to sign-in.
    hosted.advance(13 * 3_600_000);
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('button', { name: 'Deployments' }).click();
    await expect(page.getByText('Your session has ended. Sign in again.')).toBeVisible();
    expect((await page.request.get(`${gateway.url}/v1/deployments`, { headers: { 'x-csrf-token': 'anything' } })).status()).toBe(401);
  });

  test('a second account sees none of the first one’s deployments, tokens or keys', async ({ browser, hosted }) => {
    const { gateway } = hosted;
    await hosted.account('ada@example.com', PASSWORD);
    await hosted.account('bea@example.com', PASSWORD);
    const ada = await browser.newPage();
    await signIn(ada, gateway.url, 'ada@example.com', PASSWORD);
    await ada.getByRole('navigation', { name: 'Dashboard' }).getByRole('button', { name: 'Tunnel tokens' }).click();
    const form = ada.getByRole('form', { name: 'Create a tunnel token' });
    await form.getByLabel('Deployment name').fill('ada-only');
    await form.getByLabel('Label').fill('ada-token');
    await form.getByRole('button', { name: 'Create token' }).click();
    await secretFromDialog(ada, 'tunnel token');

    const bea = await browser.newPage();
    await signIn(bea, gateway.url, 'bea@example.com', PASSWORD);
    await expect(bea.getByText('No deployments yet.')).toBeVisible();
    await bea.getByRole('navigation', { name: 'Dashboard' }).getByRole('button', { name: 'Tunnel tokens' }).click();
    await expect(bea.getByRole('table', { name: 'Tunnel tokens' }).getByRole('row')).toHaveCount(1);
    await ada.close();
    await bea.close();
  });

  test('approves the desktop app’s device sign-in, which can then be revoked as a named device', async ({ page, hosted }) => {
    const { gateway } = hosted;
    await hosted.account('ada@example.com', PASSWORD);
    // What the app does: ask for a code pair, then poll.
    const start = (await (await fetch(`${gateway.url}/v1/device/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_name: 'Tokios Desktop on ada-laptop' }) })).json()) as DeviceCodeResponse;
    const poll = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const response = await fetch(`${gateway.url}/v1/device/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=${start.device_code}` });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    expect(await poll()).toMatchObject({ status: 400, body: { error: 'authorization_pending' } });

    await page.goto(start.verification_uri_complete);
    await expect(page.getByText('Sign in to approve the device')).toBeVisible();
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.getByLabel('Email').fill('ada@example.com');
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByText(start.user_code)).toBeVisible();
    await expect(page.getByText('Tokios Desktop on ada-laptop')).toBeVisible();
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByText(/Approved: Tokios Desktop on ada-laptop is now signed in/)).toBeVisible();

    hosted.advance(6000); // the app waits its polling interval
    const approved = await poll();
    expect(approved).toMatchObject({ status: 200, body: { token_type: 'bearer', scope: 'admin', account: { email: 'ada@example.com' } } });
    const credential = approved.body.access_token as string;
    const minted = await fetch(`${gateway.url}/v1/tunnel-tokens`, { method: 'POST', headers: { authorization: `Bearer ${credential}` } });
    expect(minted.status).toBe(201);
    expect((await poll()).body.error).toBe('invalid_grant');

    page.on('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: '← Dashboard' }).click();
    await page.getByRole('navigation', { name: 'Dashboard' }).getByRole('button', { name: 'Devices' }).click();
    await page.getByRole('button', { name: 'Revoke Tokios Desktop on ada-laptop' }).click();
    await expect(page.getByTestId('key-Tokios Desktop on ada-laptop')).toContainText('revoked');
    expect((await fetch(`${gateway.url}/v1/tunnel-tokens`, { method: 'POST', headers: { authorization: `Bearer ${credential}` } })).status).toBe(401);
  });
});
