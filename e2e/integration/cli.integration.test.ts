import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { runTokios, tokios } from '../support/processes.js';
import { TunnelRig } from '../support/tunnel-rig.js';

/** The `tokios` command as scripts drive it. */

let rig: TunnelRig;
let ollama: FakeOllama;

beforeAll(async () => {
  rig = await new TunnelRig().start();
  ollama = await startFakeOllama();
});

afterAll(async () => {
  await rig?.close();
  await ollama?.close();
});

describe('tokios.json validation', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['upstream without a scheme', '{"tunnel_token": "tt-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "upstream": "localhost:11434"}', /field `upstream` must be an http\(s\) URL/],
    ['no token', '{"upstream": "http://localhost:11434"}', /field `tunnel_token` is missing/],
    ['a misspelt field', '{"tunel_token": "x", "upstream": "http://localhost:11434"}', /field `tunel_token` is not a known field/],
    ['broken JSON', '{"tunnel_token": "tt-aaaa", ', /is not valid JSON/],
  ];
  for (const [what, text, message] of cases) {
    it(`rejects ${what}, naming the file and field, and leaves the file untouched`, async () => {
      const file = join(rig.dir.path, `bad-${what.replace(/\W+/g, '-')}.json`);
      writeFileSync(file, text);
      const before = statSync(file).mtimeMs;
      const { code, stderr } = await runTokios(['connect', '--config', file, '--gateway', rig.url]);
      expect(code).toBe(2);
      expect(stderr).toContain(file);
      expect(stderr).toMatch(message);
      expect(readFileSync(file, 'utf8')).toBe(text);
      expect(statSync(file).mtimeMs).toBe(before);
    });
  }

  it('never prints the token when the token itself is malformed', async () => {
    const secretish = 'tt-short secret with spaces';
    const file = join(rig.dir.path, 'bad-token.json');
    writeFileSync(file, JSON.stringify({ tunnel_token: secretish, upstream: 'http://localhost:11434' }));
    const { code, stderr } = await runTokios(['connect', '--config', file, '--gateway', rig.url]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/field `tunnel_token`/);
    expect(stderr).not.toContain('short secret');
  });
});

describe('commands', () => {
  it('answers --help on every subcommand', async () => {
    for (const command of ['gateway', 'connect', 'account', 'key', 'token', 'register', 'deployments']) {
      const { code, stdout } = await runTokios([command, '--help']);
      expect(code, command).toBe(0);
      expect(stdout, command).toMatch(new RegExp(`^Usage: tokios ${command}`));
    }
    const top = await runTokios(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Commands:/);
  });

  it('rejects unknown options and missing arguments with exit code 2', async () => {
    expect((await runTokios(['connect'])).code).toBe(2);
    expect((await runTokios(['gateway', '--prot', '1'])).code).toBe(2);
    const register = await runTokios(['register', '--gateway', rig.url, '--name', 'bad name!', '--token', 'tt-x']);
    expect(register.code).toBe(2);
    expect(register.stderr).toMatch(/--name must start with a letter or digit/);
  });

  it('says plainly when the gateway port is taken', async () => {
    const { code, stderr } = await runTokios(['gateway', '--port', new URL(rig.url).port, '--data', rig.dataDir]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/port \d+ on 127\.0\.0\.1 is already in use.*choose another with --port/);
    expect(stderr).not.toMatch(/ {4}at /);
  });

  it('prints new secrets as the last line of stdout', async () => {
    const key = await runTokios(['key', 'create', '--data', rig.dataDir]);
    expect(key.stdout.trim().split('\n').pop()).toMatch(/^sk-tokios-[A-Za-z0-9_-]{43}$/);
    const token = await runTokios(['token', 'create', '--data', rig.dataDir]);
    expect(token.stdout.trim().split('\n').pop()).toMatch(/^tt-[A-Za-z0-9_-]{43}$/);
    // The store holds hashes only.
    const store = readFileSync(join(rig.dataDir, 'gateway.json'), 'utf8');
    expect(store).not.toContain(key.stdout.trim());
    expect(store).not.toContain(token.stdout.trim());
    expect(statSync(join(rig.dataDir, 'gateway.json')).mode & 0o777).toBe(0o600);
  });

  it('takes the gateway from --gateway, else the file, else TOKIOS_GATEWAY', async () => {
    const token = await rig.newToken();
    await rig.register('from-env', token);
    const file = join(rig.dir.path, 'tokios-env.json');
    writeFileSync(file, JSON.stringify({ tunnel_token: token, upstream: ollama.url }));
    const connector = tokios(['connect', '--config', file], { env: { TOKIOS_GATEWAY: rig.url } });
    await connector.waitFor(/state: online/);
    expect((await rig.chat('from-env')).status).toBe(200);
    const result = await connector.stop();
    expect(result.code).toBe(0);

    const none = await runTokios(['connect', '--config', file], { env: { TOKIOS_GATEWAY: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no gateway URL/);
  });

  it('can require an API key for registering, so a leaked tunnel token cannot re-bind names', async () => {
    const strict = await new TunnelRig(['--register-with-key-only']).start();
    try {
      const token = await strict.newToken();
      const tokenOnly = await runTokios(['register', '--gateway', strict.url, '--name', 'guarded', '--token', token], { env: { TOKIOS_API_KEY: '' } });
      expect(tokenOnly.code).toBe(1);
      expect(tokenOnly.stderr).toMatch(/only accepts registrations made with an admin API key/);
      const withKey = await runTokios(['register', '--gateway', strict.url, '--name', 'guarded', '--token', token], { env: { TOKIOS_API_KEY: strict.apiKey } });
      expect(withKey.code).toBe(0);
    } finally {
      await strict.gateway.stop();
      strict.dir.remove();
    }
  });

  it('lists deployments with live status', async () => {
    const { code, stdout } = await runTokios(['deployments', '--gateway', rig.url], { env: { TOKIOS_API_KEY: rig.apiKey } });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^NAME\s+STATUS/);
    expect(stdout).toMatch(/from-env\s+offline/);
  });
});
