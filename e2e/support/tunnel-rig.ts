import { join } from 'node:path';
import type { FakeUpstream } from './fake-upstream-base.js';
import { createSecret, killAll, runTokios, startGatewayProcess, tempDir, tokios, writeConfig, type TokiosProcess } from './processes.js';

/**
 * A real gateway process with an admin API key, to which tests add deployments, each a
 * real connector process in front of a test upstream.
 */
export class TunnelRig {
  readonly dir = tempDir();
  readonly dataDir = join(this.dir.path, 'gateway');
  url = '';
  apiKey = '';
  gateway!: TokiosProcess;
  private readonly gatewayArgs: string[];

  constructor(gatewayArgs: string[] = []) {
    this.gatewayArgs = gatewayArgs;
  }

  async start(): Promise<this> {
    const { url, process } = await startGatewayProcess(this.dataDir, this.gatewayArgs);
    this.url = url;
    this.gateway = process;
    this.apiKey = await createSecret('key', this.dataDir, ['--scope', 'admin']);
    return this;
  }

  /** Starts the gateway again on the same port and data folder. */
  async restartGateway(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const port = new URL(this.url).port;
    if (signal === 'SIGKILL') {
      this.gateway.signal('SIGKILL');
      await this.gateway.exited;
    } else {
      await this.gateway.stop();
    }
    const { url, process } = await startGatewayProcess(this.dataDir, ['--port', port, ...this.gatewayArgs.filter((a, i, all) => a !== '--port' && all[i - 1] !== '--port')]);
    this.url = url;
    this.gateway = process;
  }

  newToken(): Promise<string> {
    return createSecret('token', this.dataDir);
  }

  /** `tokios register` with the token alone, or as admin (`TOKIOS_API_KEY`): the swap needs admin. */
  async register(name: string, token: string, options: { asAdmin?: boolean } = {}): Promise<string> {
    const result = await runTokios(['register', '--gateway', this.url, '--name', name, '--token', token], { env: { TOKIOS_API_KEY: options.asAdmin ? this.apiKey : '' } });
    if (result.code !== 0) throw new Error(`register failed: ${result.stderr}`);
    return result.stdout;
  }

  /** Writes a tokios.json for `upstream` and runs `tokios connect` on it. */
  connect(token: string, upstream: FakeUpstream | string, extra: Record<string, unknown> = {}): TokiosProcess {
    const file = writeConfig(this.dir.path, `tokios-${Math.random().toString(36).slice(2, 8)}.json`, {
      tunnel_token: token,
      upstream: typeof upstream === 'string' ? upstream : upstream.url,
      ...extra,
    });
    return tokios(['connect', '--config', file, '--gateway', this.url]);
  }

  /** Mints a token, registers `name`, starts its connector and waits until it serves. */
  async deploy(name: string, upstream: FakeUpstream | string, extra: Record<string, unknown> = {}, ready = /state: online/): Promise<{ token: string; connector: TokiosProcess }> {
    const token = await this.newToken();
    await this.register(name, token);
    const connector = this.connect(token, upstream, extra);
    await connector.waitFor(ready);
    return { token, connector };
  }

  fetch(path: string, body?: unknown, init: RequestInit = {}): Promise<Response> {
    return fetch(this.url + path, {
      method: body === undefined ? 'GET' : 'POST',
      ...init,
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  }

  async chat(model: string, extra: Record<string, unknown> = {}): Promise<{ status: number; json: any }> {
    const response = await this.fetch('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hello' }], ...extra });
    return { status: response.status, json: await response.json() };
  }

  async close(): Promise<void> {
    await killAll();
    this.dir.remove();
  }
}
