import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../e2e/support/processes.js';
import { API_SUBPROTOCOL, type ApiHandlers } from '../../shared/api.js';
import { Logger } from '../logging/logger.js';
import { DownloadSlots } from './download-slots.js';
import { startHeadlessHost, type HeadlessHost } from './headless-host.js';

const dir = tempDir();
let host: HeadlessHost;
const downloads = new DownloadSlots();
const listeners = new Set<(payload: unknown) => void>();
const core = {
  handlers: { 'app.info': async () => ({ version: 'test' }) } as unknown as ApiHandlers,
  on: (_event: string, listener: (payload: unknown) => void) => (listeners.add(listener), () => listeners.delete(listener)),
};

beforeAll(async () => {
  mkdirSync(join(dir.path, 'ui'));
  writeFileSync(join(dir.path, 'ui', 'index.html'), `<!doctype html><meta http-equiv="Content-Security-Policy" content="connect-src 'none'" /><title>Tokios</title>`);
  writeFileSync(join(dir.path, 'secret.txt'), 'outside the renderer folder');
  host = await startHeadlessHost({ core: core as never, rendererDir: join(dir.path, 'ui'), log: new Logger('test'), downloads, runId: 'run-42' });
});
afterAll(async () => {
  await host.close();
  dir.remove();
});

function connect(options: { secret?: string; origin?: string; host?: string }): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const protocols = [API_SUBPROTOCOL, ...(options.secret ? [`secret.${options.secret}`] : [])];
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/api`, protocols, {
      headers: { ...(options.host ? { host: options.host } : {}) },
      ...(options.origin ? { origin: options.origin } : {}),
    });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.on('error', () => undefined);
  });
}

function get(path: string, hostHeader: string): Promise<{ status: number; body: string; csp: string | undefined; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, headers: { host: hostHeader } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, csp: res.headers['content-security-policy'] as string | undefined, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('headless host', () => {
  it('serves the API to the page that has the secret', async () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/#secret=${host.secret}`);
    const { ws } = await connect({ secret: host.secret, origin: host.origin });
    expect(ws!.protocol).toBe(API_SUBPROTOCOL);
    const answer = new Promise<unknown>((resolve) => ws!.once('message', (data) => resolve(JSON.parse(data.toString()))));
    ws!.send(JSON.stringify({ id: 1, method: 'app.info', args: null }));
    expect(await answer).toEqual({ id: 1, ok: true, result: { version: 'test' } });
    ws!.close();
  });

  it('refuses a wrong or missing secret', async () => {
    expect((await connect({ secret: 'wrong', origin: host.origin })).status).toBe(401);
    expect((await connect({ secret: `${host.secret}x`, origin: host.origin })).status).toBe(401);
    expect((await connect({ origin: host.origin })).status).toBe(401);
  });

  it('refuses a foreign Origin even with the secret', async () => {
    expect((await connect({ secret: host.secret, origin: 'http://evil.example' })).status).toBe(403);
    expect((await connect({ secret: host.secret, origin: `http://127.0.0.1:${host.port + 1}` })).status).toBe(403);
  });

  it('refuses a foreign Host (DNS rebinding) for the page and the API', async () => {
    expect((await get('/', `evil.example:${host.port}`)).status).toBe(403);
    expect((await connect({ secret: host.secret, host: `evil.example:${host.port}` })).status).toBe(403);
    expect((await get('/', `localhost:${host.port}`)).status).toBe(200);
  });

  it('serves the renderer with a strict CSP and nothing outside its folder', async () => {
    const page = await get('/', `127.0.0.1:${host.port}`);
    expect(page.body).toContain('<title>Tokios</title>');
    // The page may connect to this host's API socket, by the name it was opened with, and nowhere else.
    expect(page.csp?.split('; ').filter((d) => d.startsWith('connect-src'))).toEqual([`connect-src ws://127.0.0.1:${host.port}/api http://127.0.0.1:${host.port}/run`]);
    expect((await get('/', `localhost:${host.port}`)).csp).toContain(`connect-src ws://localhost:${host.port}/api http://localhost:${host.port}/run;`);
    expect(page.body).not.toContain('Content-Security-Policy');
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      expect((await get(path, `127.0.0.1:${host.port}`)).body).not.toContain('outside the renderer folder');
    }
  });

  it('hands an export to the browser once, as an attachment, and never again', async () => {
    const offered = await downloads.deliver('tokios-gemma.json', '{"tunnel_token": "tt-secret"}\n');
    if (offered.outcome !== 'download') throw new Error('expected a download');
    expect(offered.url).toMatch(/^\/download\/[A-Za-z0-9_-]{43}$/);
    const first = await get(offered.url, `127.0.0.1:${host.port}`);
    expect(first.status).toBe(200);
    expect(first.body).toBe('{"tunnel_token": "tt-secret"}\n');
    expect(first.headers['content-disposition']).toBe('attachment; filename="tokios-gemma.json"');
    expect(first.headers['cache-control']).toBe('no-store');
    expect((await get(offered.url, `127.0.0.1:${host.port}`)).status).toBe(404);
    expect((await get('/download/guess', `127.0.0.1:${host.port}`)).status).toBe(404);
    // A foreign Host cannot take one either.
    const other = await downloads.deliver('tokios-x.json', 'x');
    if (other.outcome !== 'download') throw new Error('expected a download');
    expect((await get(other.url, `evil.example:${host.port}`)).status).toBe(403);
  });

  it('tells any page which run it is, so an old tab knows the app restarted', async () => {
    expect(JSON.parse((await get('/run', `127.0.0.1:${host.port}`)).body)).toEqual({ app: 'tokios', runId: 'run-42' });
  });
});
