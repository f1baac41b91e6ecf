import * as v from 'valibot';
import { TokiosError, type ErrorCode } from '../../shared/errors.js';
import { gatewayBaseUrlHint } from '../../shared/tokios-config.js';
import { describeSystemError } from '../system-errors.js';
import { CONTROL_ANSWERS, type ControlAnswer, type ControlBody, type ControlRoute, type ListedDeployment, type RegisteredDeployment } from './control-api.js';

/** The small client the CLI and the app use to call a gateway's control API (control-api.ts). */

export type { ListedDeployment, RegisteredDeployment } from './control-api.js';

/** What an error status from the gateway means to the caller. */
const CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 409: 'CONFLICT', 429: 'RATE_LIMITED' };

export class GatewayClient {
  private readonly base: string;

  constructor(gatewayUrl: string, private readonly timeoutMs = 10_000) {
    this.base = gatewayUrl.replace(/\/+$/, '').replace(/^ws(s?):/, 'http$1:');
  }

  /** Binds `name` to `token` (or, with `pool`, adds it to the name's pool), authenticating with the token itself (or an API key). */
  register(name: string, token: string, apiKey?: string, options: { pool?: boolean } = {}): Promise<RegisteredDeployment> {
    return this.call('POST /v1/deployments', '/v1/deployments', apiKey ?? token, { name, token, ...(options.pool ? { pool: true } : {}) });
  }

  async list(apiKey: string): Promise<ListedDeployment[]> {
    return (await this.call('GET /v1/deployments', '/v1/deployments', apiKey, undefined)).deployments;
  }

  async unregister(name: string, apiKey: string): Promise<void> {
    await this.call('DELETE /v1/deployments/NAME', `/v1/deployments/${encodeURIComponent(name)}`, apiKey, undefined);
  }

  createTunnelToken(apiKey: string): Promise<ControlAnswer<'POST /v1/tunnel-tokens'>> {
    return this.call('POST /v1/tunnel-tokens', '/v1/tunnel-tokens', apiKey, undefined);
  }

  createApiKey(apiKey: string): Promise<ControlAnswer<'POST /v1/api-keys'>> {
    return this.call('POST /v1/api-keys', '/v1/api-keys', apiKey, undefined);
  }

  health(): Promise<ControlAnswer<'GET /healthz'>> {
    return this.call('GET /healthz', '/healthz', null, undefined);
  }

  private async call<R extends ControlRoute>(route: R, path: string, bearer: string | null, body: ControlBody<R>): Promise<ControlAnswer<R>> {
    const method = route.slice(0, route.indexOf(' '));
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new TokiosError('GATEWAY_UNREACHABLE', `cannot reach the gateway at ${this.base} (${describeSystemError(error)}): is it running, and is the URL right?`);
    }
    const text = await response.text();
    let json: unknown = response.status === 204 ? undefined : null;
    try {
      json = JSON.parse(text);
    } catch {
      // reported below
    }
    if (!response.ok) {
      const message = (json as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${response.status}`;
      const hint = response.status === 404 ? `; ${gatewayBaseUrlHint(this.base)}` : '';
      throw new TokiosError(CODE_BY_STATUS[response.status] ?? 'GATEWAY_ERROR', `gateway ${this.base} refused ${method} ${path}: ${message}${hint}`);
    }
    const schema: v.GenericSchema<unknown, ControlAnswer<R>> = CONTROL_ANSWERS[route];
    const answer = v.safeParse(schema, json, { abortEarly: true });
    if (!answer.success) {
      const field = v.getDotPath(answer.issues[0]);
      throw new TokiosError('GATEWAY_ERROR', `gateway ${this.base} answered ${method} ${path} with something that is not a tokios gateway's answer${field ? ` (field ${field})` : ''}; is this a tokios gateway?`);
    }
    return answer.output;
  }
}
