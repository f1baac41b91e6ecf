import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTP_ERRORS, isTokiosError, TokiosError } from '../../shared/errors.js';
import type { Logger } from '../logging/logger.js';
import { VERSION } from '../version.js';
import type { ControlAnswer, ControlRoute, ListedDeployment, LiveDeployment, RegisterRequest } from './control-api.js';
import type { GatewayStore } from './gateway-store.js';
import { BodyTooLargeError, presentedKey, readBody, sendError, sendJson } from './http-util.js';
import type { TunnelRegistry } from './tunnel-registry.js';

/**
 * The control API: bind deployment names to tunnel tokens, list deployments with live
 * status, mint tunnel tokens.
 *
 *   POST   /v1/deployments        {"name", "token"?}   register (a second time: the swap)
 *   GET    /v1/deployments                             list with live status
 *   DELETE /v1/deployments/NAME                        unregister
 *   POST   /v1/tunnel-tokens                           mint a tunnel token
 *   POST   /v1/api-keys                                mint another API key
 *   GET    /healthz                                    liveness, no auth
 *
 * Registering authenticates with an API key (token in the body) or with the tunnel token
 * itself as the bearer: holding a token proves the right to name it, which is what lets
 * `tokios register --token` work with nothing else. Everything else needs an API key.
 */

export interface ControlPlaneOptions {
  store: GatewayStore;
  registry: TunnelRegistry;
  log: Logger;
  /** Refuse registrations authenticated by a tunnel token alone (for gateways on the internet). */
  registerNeedsApiKey?: boolean;
}

const DEPLOYMENT_PATH = /^\/v1\/deployments\/([^/]+)$/;

export class ControlPlane {
  constructor(private readonly options: ControlPlaneOptions) {}

  handles(method: string, pathname: string): boolean {
    if (pathname === '/healthz') return method === 'GET';
    if (pathname === '/v1/deployments') return method === 'GET' || method === 'POST';
    if (pathname === '/v1/tunnel-tokens' || pathname === '/v1/api-keys') return method === 'POST';
    return method === 'DELETE' && DEPLOYMENT_PATH.test(pathname);
  }

  knowsPath(pathname: string): boolean {
    return pathname === '/healthz' || pathname === '/v1/deployments' || pathname === '/v1/tunnel-tokens' || pathname === '/v1/api-keys' || DEPLOYMENT_PATH.test(pathname);
  }

  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    try {
      if (pathname === '/healthz') return reply<'GET /healthz'>(res, 200, { status: 'ok', version: VERSION });
      if (pathname === '/v1/deployments' && req.method === 'POST') return await this.register(req, res);
      if (!this.requireApiKey(req, res)) return;
      if (pathname === '/v1/deployments') return reply<'GET /v1/deployments'>(res, 200, { deployments: this.list() });
      if (pathname === '/v1/tunnel-tokens') return reply<'POST /v1/tunnel-tokens'>(res, 201, await this.options.store.createTunnelToken());
      if (pathname === '/v1/api-keys') return reply<'POST /v1/api-keys'>(res, 201, await this.options.store.createApiKey());
      const name = decodeName(DEPLOYMENT_PATH.exec(pathname)![1]!);
      const removed = await this.options.store.unregister(name);
      if (!removed) return sendError(res, 404, `No deployment named '${name}'.`, 'invalid_request_error', 'deployment_not_found');
      this.options.registry.unbind(name);
      this.options.log.info(`deployment '${name}' unregistered`);
      res.writeHead(204).end();
    } catch (error) {
      this.fail(req, res, pathname, error);
    }
  }

  /** Live status of every registered deployment. */
  list(): ListedDeployment[] {
    return this.options.store.deployments.map((d) => ({ ...this.live(d.name), tokenId: d.tokenId, created: d.created, updated: d.updated }));
  }

  /** What the registry knows of a name right now (offline when no tunnel ever served it). */
  private live(name: string): LiveDeployment {
    return this.options.registry.view(name) ?? { name, status: 'offline', tunnels: 0, inFlight: 0, upstreamKind: null, upstreamModel: null, connectedSince: null };
  }

  /** A failed request gets the status its error code maps to; only server faults are logged as errors. */
  private fail(req: IncomingMessage, res: ServerResponse, pathname: string, error: unknown): void {
    const known = isTokiosError(error) ? error : null;
    const { status, type } = HTTP_ERRORS[known?.code ?? 'INTERNAL'];
    if (status >= 500) this.options.log.error(`control request ${req.method} ${pathname} failed: ${(error as Error).message}`);
    sendError(res, status, known ? known.message : 'Internal gateway error.', type, (known?.code ?? 'INTERNAL').toLowerCase());
  }

  private requireApiKey(req: IncomingMessage, res: ServerResponse): boolean {
    const key = presentedKey(req);
    if (key && this.options.store.verifyApiKey(key)) return true;
    sendError(res, 401, key ? 'Invalid API key.' : 'Missing API key: send "Authorization: Bearer sk-tokios-…".', 'authentication_error', key ? 'invalid_api_key' : 'missing_api_key');
    return false;
  }

  private async register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { store, registry, log } = this.options;
    // Credentials first: a body is read (and held) only for a caller that may register.
    const presented = presentedKey(req);
    if (!presented) return refuseUnread(res, 401, 'Authenticate with the tunnel token being registered (Authorization: Bearer tt-…) or an API key.', 'authentication_error', 'missing_credentials');
    /** The token the bearer itself is, when it is not an API key. */
    let bearerTokenId: string | null = null;
    if (!store.verifyApiKey(presented)) {
      if (this.options.registerNeedsApiKey) {
        return refuseUnread(res, 401, 'This gateway only accepts registrations made with an API key (set TOKIOS_API_KEY for tokios register).', 'authentication_error', 'api_key_required');
      }
      bearerTokenId = store.verifyTunnelToken(presented)?.id ?? null;
      if (!bearerTokenId) return refuseUnread(res, 401, 'Tunnel token rejected: this gateway did not issue it (or it was revoked).', 'authentication_error', 'tunnel_token_rejected');
    }

    let body: { [K in keyof RegisterRequest]?: unknown };
    try {
      body = JSON.parse((await readBody(req, 64 * 1024)).toString('utf8')) as typeof body;
      if (typeof body !== 'object' || body === null) throw new Error('not an object');
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendError(res, 413, 'Registration body is too large.', 'invalid_request_error', 'request_too_large', { connection: 'close' });
      return sendError(res, 400, 'Body must be JSON like {"name": "gemma-tunnel", "token": "tt-…"}.', 'invalid_request_error', 'invalid_json');
    }

    let tokenId: string;
    if (bearerTokenId === null) {
      if (typeof body.token !== 'string') return sendError(res, 400, 'Field "token" is required when registering with an API key.', 'invalid_request_error', 'missing_token');
      const id = store.verifyTunnelToken(body.token)?.id;
      if (!id) return sendError(res, 400, 'Field "token" is not a tunnel token this gateway issued.', 'invalid_request_error', 'unknown_token');
      tokenId = id;
    } else {
      if (body.token !== undefined && (typeof body.token !== 'string' || store.verifyTunnelToken(body.token)?.id !== bearerTokenId)) {
        return sendError(res, 400, 'Field "token" differs from the token used to authenticate.', 'invalid_request_error', 'token_mismatch');
      }
      tokenId = bearerTokenId;
    }
    if (typeof body.name !== 'string') return sendError(res, 400, 'Field "name" is required: the deployment name clients will use as "model".', 'invalid_request_error', 'missing_name');

    const result = await store.register(body.name, tokenId);
    if (result.renamedFrom) registry.unbind(result.renamedFrom);
    registry.bind(result.deployment.name, tokenId);
    const swapped = result.previousTokenId !== null;
    log.info(`deployment '${body.name}' ${result.created ? 'registered' : swapped ? 're-registered to another token (swap)' : 're-registered'}`);
    reply<'POST /v1/deployments'>(res, result.created ? 201 : 200, {
      deployment: { ...this.live(result.deployment.name), created: result.deployment.created, updated: result.deployment.updated },
      created: result.created,
      swapped,
      renamedFrom: result.renamedFrom,
    });
  }
}

function reply<R extends ControlRoute>(res: ServerResponse, status: number, answer: ControlAnswer<R>): void {
  sendJson(res, status, answer);
}

/** The NAME of `/v1/deployments/NAME`, percent-decoded; malformed escapes are the client's error. */
function decodeName(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new TokiosError('INVALID_ARGUMENT', `The deployment name in the path is not valid percent-encoding: '${encoded.slice(0, 80)}'.`);
  }
}

/**
 * Refuses a request whose body was not read, and closes the connection after the answer:
 * the unread bytes are never worth receiving.
 */
function refuseUnread(res: ServerResponse, status: number, message: string, type: string, code: string): void {
  sendError(res, status, message, type, code, { connection: 'close' });
}
