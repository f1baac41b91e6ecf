import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, TOKIOS_BIN, createSecret, runTokios, startGatewayProcess, tempDir, tokios, writeConfig, type TokiosProcess } from '../support/processes.js';

/**
 * What the `tokios` command says when something is wrong around it: a gateway it cannot
 * reach, a URL given with `/v1`, a path that is a file. One clear line naming what to fix,
 * the right exit code, never a stack trace.
 */

const dir = tempDir('tokios-cli-messages-');
const dataDir = join(dir.path, 'gw');
let gateway: { url: string; process: TokiosProcess };
let token: string;

beforeAll(async () => {
  gateway = await startGatewayProcess(dataDir);
  token = await createSecret('token', dataDir);
});

afterAll(async () => {
  await gateway?.process.stop();
  dir.remove();
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('a connector that cannot get through says why', () => {
  it('names a refused connection instead of only "connecting"', async () => {
    const file = writeConfig(dir.path, 'tokios-refused.json', { tunnel_token: token, upstream: 'http://127.0.0.1:9' });
    const connector = tokios(['connect', '--config', file, '--gateway', `http://127.0.0.1:${await closedPort()}`]);
    try {
      await connector.waitFor(/cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+: connection refused/);
    } finally {
      await connector.stop();
    }
  });

  it('tells a connector given the API URL (…/v1) to drop /v1', async () => {
    const file = writeConfig(dir.path, 'tokios-v1.json', { tunnel_token: token, upstream: 'http://127.0.0.1:9' });
    const connector = tokios(['connect', '--config', file, '--gateway', `${gateway.url}/v1`]);
    try {
      await connector.waitFor(/HTTP 404.*give the gateway's base URL without \/v1 \(http:\/\/127\.0\.0\.1:\d+\)/);
      expect(connector.output).not.toContain(token);
    } finally {
      await connector.stop();
    }
  });

  it('tells register and deployments given the API URL to drop /v1', async () => {
    const register = await runTokios(['register', '--gateway', `${gateway.url}/v1`, '--name', 'v1-typo'], { env: { TOKIOS_TUNNEL_TOKEN: token, TOKIOS_API_KEY: '' } });
    expect(register.code).toBe(1);
    expect(register.stderr).toMatch(/without \/v1/);
    const admin = await createSecret('key', dataDir, ['--scope', 'admin']);
    const list = await runTokios(['deployments', '--gateway', `${gateway.url}/v1`], { env: { TOKIOS_API_KEY: admin } });
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/without \/v1/);
  });
});

describe('system errors are one line naming the flag, never a stack', () => {
  it('refuses a --data that is a file, for admin commands and serve', async () => {
    const file = join(dir.path, 'not-a-folder');
    writeFileSync(file, 'x');
    for (const args of [['key', 'create', '--data', file], ['serve', '--data', file, '--port', '0']]) {
      const { code, stderr } = await runTokios(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(new RegExp(`^tokios: --data ${file}: .*give --data a folder`));
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('refuses a --host that does not resolve', async () => {
    const { code, stderr } = await runTokios(['gateway', '--host', '999.1.1.1', '--port', '0', '--data', join(dir.path, 'gw-host')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot listen on 999\.1\.1\.1:0: the host name does not resolve; give --host/);
    expect(stderr).not.toMatch(/ {4}at /);
  });

  it('stops quietly when the reader of its output has gone (| head -1)', () => {
    // `true` exits at once, so the list is written into a pipe nobody reads.
    const run = spawnSync('bash', ['-c', `"${process.execPath}" "${TOKIOS_BIN}" token list --data "${dataDir}" | true; echo "exit \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(run.stderr).toMatch(/exit 0/);
  });
});

describe('a typo in --data is said out loud', () => {
  it('says when an admin command created a new store, and only then', async () => {
    const typo = join(dir.path, 'gwx');
    const first = await runTokios(['key', 'create', '--data', typo]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`created a new gateway store in ${typo}: no gateway.json was there`);
    const second = await runTokios(['key', 'create', '--data', typo]);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toMatch(/new gateway store/);
    const list = await runTokios(['token', 'list', '--data', join(dir.path, 'gwy')]);
    expect(list.stderr).toMatch(/no gateway store in .*gwy .*is --data right\?/);
  });
});

describe("the checkout's bin/tokios (the README's examples)", () => {
  it('is the tokios process itself, so killing the pid a script got stops the gateway', async () => {
    const child = spawn(join(REPO_ROOT, 'bin', 'tokios'), ['gateway', '--port', '0', '--data', join(dir.path, 'gw-bin')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (text: string) => {
          out += text;
          const match = out.match(/^(http:\/\/\S+)$/m);
          if (match) resolve(match[1]!);
        });
        child.once('exit', () => reject(new Error(`exited before printing its URL: ${out}`)));
      });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      child.kill('SIGTERM');
      await exited;
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('a bad command line exits 2 and names the flag', () => {
  it('names --expires and --models with exit code 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['key', 'create', '--expires', '30x'], /^tokios: --expires must be a duration/],
      [['token', 'create', '--expires', '0d'], /^tokios: --expires must be a duration above zero/],
      [['key', 'create', '--models', 'bad name!'], /^tokios: --models lists a deployment name that/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runTokios([...args, '--data', dataDir]);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
    }
  });

  it('says which command and subcommand, once, and knows `tokios version`', async () => {
    const connect = await runTokios(['connect']);
    expect(connect.stderr).toMatch(/^tokios connect: --config FILE is required/);
    const frob = await runTokios(['key', 'frob', '--data', dataDir]);
    expect(frob.code).toBe(2);
    expect(frob.stderr).toMatch(/unknown subcommand 'frob'/);
    const version = await runTokios(['version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('secrets in the wrong place', () => {
  it('tells a client that sent a tunnel token that it needs an API key, without echoing the token', async () => {
    const response = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(JSON.parse(text).error.message).toMatch(/tunnel token .*Clients need an API key .*tokios key create/);
    expect(text).not.toContain(token);
    expect(gateway.process.output).not.toContain(token);
  });
});

describe('--help and the README agree with what the commands take', () => {
  it('lists deployments with the admin key from --api-key-file, as register takes it', async () => {
    const admin = await createSecret('key', dataDir, ['--scope', 'admin']);
    const keyFile = join(dir.path, 'admin.key');
    writeFileSync(keyFile, `${admin}\n`, { mode: 0o600 });
    const { code, stdout, stderr } = await runTokios(['deployments', '--gateway', gateway.url, '--api-key-file', keyFile, '--json'], { env: { TOKIOS_API_KEY: '' } });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toBeInstanceOf(Array);
  });

  it("shows every option of connect in its usage line, and every exit code", async () => {
    const { stdout } = await runTokios(['connect', '--help']);
    expect(stdout.split('\n')[0]).toContain('[--max-held-bodies N]');
    expect(stdout).toMatch(/1 another failure/);
  });
});
