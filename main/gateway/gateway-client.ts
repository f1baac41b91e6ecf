import { TokiosError } from '../../shared/errors.js';
import type { DeploymentView } from './tunnel-registry.js';

/** The small client the CLI and the app use to call a gateway's control API. */

export interface RegisteredDeployment {
  deployment: DeploymentView & { created: string; updated: string };
  created: boolean;
  swapped: boolean;
  renamedFrom: string | null;
}

export interface ListedDeployment extends DeploymentView {
  tokenId: string;
  created: string;
  updated: string;
}

export class GatewayClient {
  private readonly base: string;

  constructor(gatewayUrl: string, private readonly timeoutMs = 10_000) {
    this.base = gatewayUrl.replace(/\/+$/, '').replace(/^ws(s?):/, 'http$1:');
  }

  /** Binds `name` to `token`, authenticating with the token itself (or an API key). */
  register(name: string, token: string, apiKey?: string): Promise<RegisteredDeployment> {
    return this.call('POST', '/v1/deployments', apiKey ?? token, { name, token });
  }

  async list(apiKey: string): Promise<ListedDeployment[]> {
    return (await this.call<{ deployments: ListedDeployment[] }>('GET', '/v1/deployments', apiKey)).deployments;
  }

  async unregister(name: string, apiKey: string): Promise<void> {
    await this.call('DELETE', `/v1/deployments/${encodeURIComponent(name)}`, apiKey);
  }

  createTunnelToken(apiKey: string): Promise<{ id: string; token: string }> {
    return this.call('POST', '/v1/tunnel-tokens', apiKey);
  }

  async health(): Promise<{ status: string; version: string }> {
    return this.call('GET', '/healthz', null);
  }

  private async call<T>(method: string, path: string, bearer: string | null, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      throw new TokiosError('GATEWAY_UNREACHABLE', `cannot reach the gateway at ${this.base}${code ? ` (${code})` : ''}: is it running, and is the URL right?`);
    }
    const text = await response.text();
    if (response.status === 204) return undefined as T;
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // reported below
    }
    if (!response.ok) {
      const message = (json as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${response.status}`;
      const code = response.status === 401 ? 'UNAUTHORIZED' : response.status === 404 ? 'NOT_FOUND' : response.status === 400 ? 'INVALID_ARGUMENT' : 'GATEWAY_ERROR';
      throw new TokiosError(code, `gateway ${this.base} refused ${method} ${path}: ${message}`);
    }
    if (json === null) throw new TokiosError('GATEWAY_ERROR', `gateway ${this.base} answered ${method} ${path} with something that is not JSON; is this a tokios gateway?`);
    return json as T;
  }
}
