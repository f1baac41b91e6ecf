import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { startFakeOllama } from '../support/fake-ollama.js';
import { createSecret, killAll, runTokios, tempDir, tokios, writeConfig } from '../support/processes.js';

/**
 * `tokios gateway --tls-cert --tls-key` serves HTTPS and WSS itself: with a self-signed
 * certificate made here, clients and a connector that trust it (NODE_EXTRA_CA_CERTS) work
 * end to end, and plain HTTP on that port gets nothing.
 */

const dir = tempDir('tokios-tls-');
afterAll(async () => {
  await killAll();
  dir.remove();
});

it('serves the API and the tunnel over TLS', async () => {
  const cert = join(dir.path, 'cert.pem');
  const key = join(dir.path, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const trust = { NODE_EXTRA_CA_CERTS: cert };
  const dataDir = join(dir.path, 'gateway');

  const wrongKey = await runTokios(['gateway', '--port', '0', '--data', dataDir, '--tls-cert', cert, '--tls-key', cert]);
  expect(wrongKey.code).toBe(2);
  expect(wrongKey.stderr).toMatch(/--tls-key .*cert\.pem|cannot be used together/);

  const gateway = tokios(['gateway', '--port', '0', '--data', dataDir, '--tls-cert', cert, '--tls-key', key]);
  const url = (await gateway.waitFor(/^(https:\/\/127\.0\.0\.1:\d+)$/m))[1]!;
  const apiKey = await createSecret('key', dataDir);
  const token = await createSecret('token', dataDir);
  const registered = await runTokios(['register', '--gateway', url, '--name', 'secure', '--token', token], { env: trust });
  expect(registered.code, registered.stderr).toBe(0);
  const upstream = await startFakeOllama({ label: 'behind-tls' });
  try {
    const file = writeConfig(dir.path, 'tokios.json', { tunnel_token: token, upstream: upstream.url });
    await tokios(['connect', '--config', file, '--gateway', url], { env: trust }).waitFor(/state: online/);

    const agent = new Agent({ connect: { ca: readFileSync(cert) } });
    const response = await request(`${url}/v1/chat/completions`, {
      method: 'POST', dispatcher: agent,
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'secure', max_tokens: 2, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toContain('Hello from behind-tls');
    await agent.close();
    // Plain HTTP on the TLS port is not answered as HTTP.
    await expect(fetch(url.replace('https:', 'http:') + '/healthz')).rejects.toThrow();
  } finally {
    await upstream.close();
  }
});
