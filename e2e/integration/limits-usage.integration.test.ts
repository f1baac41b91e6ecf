import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageReport } from '../../shared/hosted-api.js';
import { startGateway, type Gateway } from '../../main/gateway/gateway-server.js';
import { IMPLICIT_ACCOUNT_ID } from '../../main/gateway/gateway-store.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { killAll, tempDir, tokios, writeConfig } from '../support/processes.js';

/**
 * Limits and usage through the real gateway and a real connector process. The gateway runs
 * in this process so the test owns the clock of its policies: "a minute later" is a clock
 * move, not a wait.
 */

const dir = tempDir('tokios-limits-');
let clock = Date.UTC(2030, 0, 1, 12, 0, 0);
let gateway: Gateway;
let upstream: FakeOllama;
let adminKey = '';

async function key(input: Parameters<Gateway['admin']['createKey']>[1]): Promise<string> {
  return (await gateway.admin.createKey(IMPLICIT_ACCOUNT_ID, input)).key!;
}

function chat(apiKey: string, extra: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gemma-tunnel', max_tokens: 3, messages: [{ role: 'user', content: 'Hi' }], ...extra }),
  });
}

beforeAll(async () => {
  upstream = await startFakeOllama({ defaultTokens: 4 });
  // Usage is written only when the test closes the gateway: every query in between must
  // come from memory (and no request may have written anything).
  gateway = await startGateway({ dataDir: join(dir.path, 'gateway'), port: 0, now: () => clock, usageFlushMs: 3_600_000 });
  adminKey = await key({ scope: 'admin' });
  const token = await gateway.admin.createToken(IMPLICIT_ACCOUNT_ID, { deployment: 'gemma-tunnel' });
  const file = writeConfig(dir.path, 'tokios.json', { tunnel_token: token.token, upstream: upstream.url });
  await tokios(['connect', '--config', file, '--gateway', gateway.url]).waitFor(/state: online/);
});

afterAll(async () => {
  await killAll();
  await gateway?.destroy();
  await upstream?.close();
  dir.remove();
});

describe('limits', () => {
  it('passes exactly rpm requests, answers the next with 429, Retry-After and x-ratelimit-*, and resets', async () => {
    const limited = await key({ rpm: 3, label: 'rpm-3' });
    const seen: Array<[number, string | null]> = [];
    for (let i = 0; i < 3; i++) {
      const response = await chat(limited);
      await response.text();
      seen.push([response.status, response.headers.get('x-ratelimit-remaining-requests')]);
    }
    expect(seen).toEqual([[200, '2'], [200, '1'], [200, '0']]);
    const refused = await chat(limited);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('20');
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(refused.headers.get('x-ratelimit-reset-requests')).toBe('1m0s');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limit_exceeded');
    expect(body.error.message).toMatch(/requests per minute.*limit 3/);
    // The upstream saw three requests, not four.
    expect(upstream.requestsTo('/v1/chat/completions')).toHaveLength(3);

    clock += 60_000;
    const again = await Promise.all([chat(limited), chat(limited), chat(limited)]);
    expect(again.map((r) => r.status)).toEqual([200, 200, 200]);
    await Promise.all(again.map((r) => r.text()));
    expect((await chat(limited)).status).toBe(429);
  });

  it('charges the tokens the upstream reported to tokens per minute', async () => {
    const limited = await key({ tpm: 20 });
    // 12 prompt + 3 completion tokens each: the first leaves 5, the second spends past the limit.
    const first = await chat(limited);
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe('20');
    await first.text();
    const second = await chat(limited);
    expect(second.headers.get('x-ratelimit-remaining-tokens')).toBe('5');
    await second.text();
    const third = await chat(limited);
    expect(third.status).toBe(429);
    expect(third.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    clock += 90_000;
    expect((await chat(limited)).status).toBe(200);
  });

  it('holds at most `parallel` requests in flight', async () => {
    const limited = await key({ parallel: 1 });
    upstream.tokenIntervalMs = 100;
    try {
      const slow = await chat(limited, { stream: true, max_tokens: 5 });
      expect(slow.status).toBe(200);
      const second = await chat(limited);
      expect(second.status).toBe(429);
      expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(/in parallel/);
      await slow.text();
      await expect.poll(async () => (await chat(limited)).status).toBe(200);
    } finally {
      upstream.tokenIntervalMs = 0;
    }
  });
});

describe('usage', () => {
  it('totals equal what the upstream reported, streams included, without a store write per request', async () => {
    const counting = await key({ label: 'counting' });
    const gatewayJson = join(dir.path, 'gateway', 'gateway.json');
    const stamp = statSync(gatewayJson).mtimeMs;
    const first = upstream.requests.length;
    const openai = new OpenAI({ apiKey: counting, baseURL: `${gateway.url}/v1`, maxRetries: 0 });

    await openai.chat.completions.create({ model: 'gemma-tunnel', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] });
    // A stream that did not ask for usage: the gateway asks for it, and keeps the extra event from the client.
    const chunks: Array<{ choices: unknown[]; usage?: unknown }> = [];
    for await (const chunk of await openai.chat.completions.create({ model: 'gemma-tunnel', max_tokens: 7, stream: true, messages: [{ role: 'user', content: 'Hi' }] })) chunks.push(chunk);
    expect(chunks.every((c) => c.choices.length > 0 && !c.usage)).toBe(true);
    // One that did ask gets it.
    const asked: Array<{ usage?: unknown }> = [];
    for await (const chunk of await openai.chat.completions.create({ model: 'gemma-tunnel', max_tokens: 2, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hi' }] })) asked.push(chunk);
    expect(asked.at(-1)?.usage).toEqual({ prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 });
    for (const path of ['/api/chat', '/api/generate']) {
      const response = await fetch(`${gateway.url}${path}`, {
        method: 'POST', headers: { authorization: `Bearer ${counting}` },
        body: JSON.stringify({ model: 'gemma-tunnel', prompt: 'Hi', messages: [{ role: 'user', content: 'Hi' }], options: { num_predict: 6 } }),
      });
      await response.text();
    }
    const reported = upstream.requests.slice(first).map((r) => r.reported);
    expect(reported.every((r) => r !== null)).toBe(true);
    const expected = { input: reported.reduce((s, r) => s + r!.input, 0), output: reported.reduce((s, r) => s + r!.output, 0) };

    const report = await usage('key');
    const mine = report.data.find((b) => b.key_label === 'counting')!;
    expect({ requests: mine.requests, input: mine.input_tokens, output: mine.output_tokens }).toEqual({ requests: 5, ...expected });
    expect(mine.ttft_ms_avg).toBeGreaterThan(0);
    // Counting wrote nothing: not the store, not the usage file.
    expect(statSync(gatewayJson).mtimeMs).toBe(stamp);
    expect(existsSync(join(dir.path, 'gateway', 'usage.jsonl'))).toBe(false);

    const log = (await (await fetch(`${gateway.url}/v1/requests?limit=5`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as { data: Array<Record<string, unknown>> };
    expect(log.data[0]).toMatchObject({ key_label: 'counting', deployment: 'gemma-tunnel', path: '/api/generate', status: 200, output_tokens: 6 });
    expect(JSON.stringify(log)).not.toContain('Hi');
  });

  it('groups by deployment and hour, and writes everything counted when the gateway stops', async () => {
    const byHour = await usage('deployment,hour');
    expect(byHour.data.every((b) => b.deployment !== undefined && b.start?.endsWith(':00:00.000Z'))).toBe(true);
    const totals = byHour.totals;
    await gateway.close();
    const rows = readFileSync(join(dir.path, 'gateway', 'usage.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { requests: number; outputTokens: number });
    expect(rows.reduce((s, r) => s + r.requests, 0)).toBe(totals.requests);
    expect(rows.reduce((s, r) => s + r.outputTokens, 0)).toBe(totals.output_tokens);
  });
});

async function usage(groupBy: string): Promise<UsageReport> {
  const response = await fetch(`${gateway.url}/v1/usage?group_by=${groupBy}&from=${(clock - 86_400_000) / 1000}&to=${(clock + 86_400_000) / 1000}`, { headers: { authorization: `Bearer ${adminKey}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as UsageReport;
}
