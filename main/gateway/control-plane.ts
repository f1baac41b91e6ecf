import type { IncomingMessage, ServerResponse } from 'node:http';
import { TokiosError } from '../../shared/errors.js';
import type { CreateKeyInput, CreateTokenInput, CreatedCredential, HostedDeployment, KeyScope, LiveDeployment } from '../../shared/hosted-api.js';
import { API_KEY_PREFIX } from '../../shared/names.js';
import type { Logger } from '../logging/logger.js';
import { VERSION } from '../version.js';
import type { AccountAdmin, ListableKind } from './account-admin.js';
import type { AccountRegistries } from './account-registries.js';
import type { ControlAnswer, ControlRoute } from './control-api.js';
import type { CredentialVerifier } from './credential-verifier.js';
import { sendFailure } from './error-response.js';
import type { GatewayStore } from './gateway-store.js';
import { presentedKey, sendError, sendJson } from './http-util.js';
import type { InvalidationBus } from './invalidation-bus.js';
import { JsonBodyError, optionalString, readJsonObject } from './json-body.js';
import type { Principal, RequestAuth } from './request-auth.js';
import type { RequestLog } from './request-log.js';
import type { UsageMeter } from './usage-meter.js';
import { buildUsageReport, parseUsageQuery } from './usage-report.js';

/**
 * The control API, each call within the caller's account:
 *
 *   POST   /v1/deployments          {"name", "token"?}   register (a second time: the swap)
 *   GET    /v1/deployments                               list with live status
 *   DELETE /v1/deployments/NAME                          unregister
 *   POST   /v1/tunnel-tokens        {label?, deployment?, expires?}
 *   GET    /v1/tunnel-tokens
 *   DELETE /v1/tunnel-tokens/REF                         revoke (id or label)
 *   POST   /v1/tunnel-tokens/revoke {"ref"}              revoke (id, label or the token)
 *   POST   /v1/api-keys             {scope?, models?, rpm?, tpm?, parallel?, expires?, label?}
 *   GET    /v1/api-keys
 *   DELETE /v1/api-keys/REF, POST /v1/api-keys/revoke {"ref"}
 *   GET    /v1/usage?from=&to=&group_by=
 *   GET    /v1/requests?limit=                           the request log (metadata only)
 *   GET    /healthz                                      liveness, no auth
 *
 * Everything but registration needs an admin API key or a dashboard session (with its
 * CSRF token). Registration also accepts the tunnel token being registered as the bearer:
 * holding a token proves the right to bind a free name to it or renew its own, which is
 * what lets `tokios register --token` work with nothing else. Moving a name bound to
 * another token (the swap) needs admin.
 */

export interface ControlPlaneOptions {
  store: GatewayStore;
  registries: AccountRegistries;
  auth: RequestAuth;
  verifier: CredentialVerifier;
  admin: AccountAdmin;
  meter: UsageMeter;
  requestLog: RequestLog;
  bus: InvalidationBus;
  log: Logger;
  now: () => number;
  /** Refuse registrations authenticated by a tunnel token alone (for gateways on the internet). */
  registerNeedsApiKey?: boolean;
}

const COLLECTIONS: Record<string, ListableKind> = { '/v1/api-keys': 'api-key', '/v1/tunnel-tokens': 'tunnel-token' };
const ITEM = /^\/v1\/(deployments|api-keys|tunnel-tokens)\/([^/]+)$/;
const PATHS = new Set(['/healthz', '/v1/deployments', '/v1/api-keys', '/v1/tunnel-tokens', '/v1/usage', '/v1/requests']);

export class ControlPlane {
  constructor(private readonly options: ControlPlaneOptions) {}

  handles(method: string, pathname: string): boolean {
    if (pathname === '/healthz' || pathname === '/v1/usage' || pathname === '/v1/requests') return method === 'GET';
    if (PATHS.has(pathname)) return method === 'GET' || method === 'POST';
    const item = ITEM.exec(pathname);
    if (!item) return false;
    return method === 'DELETE' || (method === 'POST' && item[1] !== 'deployments' && item[2] === 'revoke');
  }

  knowsPath(pathname: string): boolean {
    return PATHS.has(pathname) || ITEM.test(pathname);
  }

  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    const method = req.method ?? 'GET';
    try {
      if (pathname === '/healthz') return reply<'GET /healthz'>(res, 200, { status: 'ok', version: VERSION });
      if (pathname === '/v1/deployments' && method === 'POST') return await this.register(req, res);
      // Credentials first: a body is read (and held) only for a caller that may use it.
      const auth = await this.options.auth.admin(req);
      if (!auth.ok) return refuseUnread(res, auth.status, auth.message, auth.type, auth.code);
      const { principal } = auth;
      if (pathname === '/v1/deployments') return reply<'GET /v1/deployments'>(res, 200, { deployments: await this.list(principal.accountId) });
      if (pathname === '/v1/usage') return await this.usage(req, res, principal);
      if (pathname === '/v1/requests') {
        const limit = Math.min(1000, Math.max(1, Number(new URL(req.url ?? '/', 'http://x').searchParams.get('limit') ?? 200) || 200));
        return reply<'GET /v1/requests'>(res, 200, { object: 'list', data: this.options.requestLog.recent(principal.accountId, limit) });
      }
      const kind = COLLECTIONS[pathname];
      if (kind && method === 'GET') return reply<'GET /v1/api-keys' | 'GET /v1/tunnel-tokens'>(res, 200, { object: 'list', data: await this.options.admin.list(principal.accountId, kind) });
      if (kind) return await this.create(req, res, principal, kind);
      const [, collection, ref] = ITEM.exec(pathname)!;
      const name = decodeName(ref!);
      if (collection === 'deployments') return await this.unregister(res, principal, name);
      const itemKind: ListableKind = collection === 'api-keys' ? 'api-key' : 'tunnel-token';
      const target = method === 'POST' ? optionalString(await readJsonObject(req), 'ref') : name;
      if (!target) return sendError(res, 400, 'Field "ref" is required: the id, label or secret to revoke.', 'invalid_request_error', 'missing_ref');
      const revoked = await this.revoke(principal, itemKind, target);
      return reply<'DELETE /v1/api-keys/REF' | 'DELETE /v1/tunnel-tokens/REF'>(res, 200, { revoked: this.options.admin.view(revoked, null) });
    } catch (error) {
      sendFailure(res, error, this.options.log, `control request ${method} ${pathname}`);
    }
  }

  /** Live status of an account's deployments. */
  async list(accountId: string): Promise<HostedDeployment[]> {
    const { store, meter } = this.options;
    return (await store.deployments(accountId)).map((d) => ({
      ...this.live(accountId, d.name), tokenId: d.tokenId, created: d.created, updated: d.updated, ...meter.recentRate(accountId, d.name),
    }));
  }

  /** What the registry knows of a name right now (offline when no tunnel ever served it). */
  private live(accountId: string, name: string): LiveDeployment {
    return this.options.registries.forAccount(accountId).view(name) ?? { name, status: 'offline', tunnels: 0, inFlight: 0, upstreamKind: null, upstreamModel: null, connectedSince: null, rttMs: null };
  }

  /** Revokes; the admin tells every gateway (this one included): caches drop, tunnels close. */
  async revoke(principal: Principal, kind: ListableKind, ref: string): Promise<Awaited<ReturnType<AccountAdmin['revoke']>>> {
    const revoked = await this.options.admin.revoke(principal.accountId, kind, ref);
    this.options.log.info(`${kind} ${revoked.id} revoked`);
    return revoked;
  }

  private async create(req: IncomingMessage, res: ServerResponse, principal: Principal, kind: ListableKind): Promise<void> {
    const body = await readJsonObject(req);
    const { admin } = this.options;
    if (kind === 'api-key') {
      const input: CreateKeyInput = {
        ...optional('label', optionalString(body, 'label')),
        ...optional('scope', optionalString(body, 'scope') as KeyScope | undefined),
        ...optional('expires', optionalString(body, 'expires')),
        ...optional('models', body.models as string[] | undefined),
        ...optional('rpm', body.rpm as number | undefined),
        ...optional('tpm', body.tpm as number | undefined),
        ...optional('parallel', body.parallel as number | undefined),
      };
      return reply<'POST /v1/api-keys'>(res, 201, withSecret(await admin.createKey(principal.accountId, input), 'key'));
    }
    const input: CreateTokenInput = { ...optional('label', optionalString(body, 'label')), ...optional('deployment', optionalString(body, 'deployment')), ...optional('expires', optionalString(body, 'expires')) };
    const { registered: _registered, ...answer } = await admin.createToken(principal.accountId, input);
    return reply<'POST /v1/tunnel-tokens'>(res, 201, withSecret(answer, 'token'));
  }

  private async usage(req: IncomingMessage, res: ServerResponse, principal: Principal): Promise<void> {
    const query = parseUsageQuery(new URL(req.url ?? '/', 'http://x').searchParams, this.options.now());
    const rows = await this.options.meter.query(principal.accountId, query.from, query.to);
    const labels = new Map((await this.options.store.credentials(principal.accountId, 'api-key')).map((k) => [k.id, k.label ?? null]));
    reply<'GET /v1/usage'>(res, 200, buildUsageReport(rows, query, (id) => labels.get(id) ?? null));
  }

  private async unregister(res: ServerResponse, principal: Principal, name: string): Promise<void> {
    const removed = await this.options.store.unregister(principal.accountId, name);
    if (!removed) return sendError(res, 404, `No deployment named '${name}'.`, 'invalid_request_error', 'deployment_not_found');
    this.options.registries.forAccount(principal.accountId).unbind(name);
    this.options.bus.publish({ type: 'deployments-changed', accountId: principal.accountId });
    this.options.log.info(`deployment '${name}' unregistered`);
    res.writeHead(204).end();
  }

  private async register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { store, verifier, log } = this.options;
    const presented = presentedKey(req);
    let accountId: string;
    let tokenId: string | null = null;
    let asAdmin = false;
    // Who is asking comes first; the body is read only for someone known.
    if (!presented || presented.startsWith(API_KEY_PREFIX)) {
      if (!presented && !req.headers.cookie) return refuseUnread(res, 401, 'Authenticate with the tunnel token being registered (Authorization: Bearer tt-…) or an admin API key.', 'authentication_error', 'missing_credentials');
      const auth = await this.options.auth.admin(req);
      if (!auth.ok) return refuseUnread(res, auth.status, auth.message, auth.type, auth.code);
      accountId = auth.principal.accountId;
      asAdmin = true;
    } else if (this.options.registerNeedsApiKey) {
      return refuseUnread(res, 401, 'This gateway only accepts registrations made with an admin API key (set TOKIOS_API_KEY for tokios register).', 'authentication_error', 'api_key_required');
    } else {
      const verified = await verifier.verify(presented, ['tunnel-token']);
      if (!verified.ok) {
        const why = verified.reason === 'unknown' ? 'this gateway did not issue it' : `it was ${verified.reason}`;
        return refuseUnread(res, 401, `Tunnel token rejected: ${why}.`, 'authentication_error', 'tunnel_token_rejected');
      }
      accountId = verified.record.accountId;
      tokenId = verified.record.id;
    }

    let body: Record<string, unknown>;
    try {
      body = await readJsonObject(req);
    } catch (error) {
      if (!(error instanceof JsonBodyError)) throw error;
      if (error.problem === 'too-large') return sendError(res, 413, 'Registration body is too large.', 'invalid_request_error', 'request_too_large', { connection: 'close' });
      return sendError(res, 400, 'Body must be JSON like {"name": "gemma-tunnel", "token": "tt-…"}.', 'invalid_request_error', 'invalid_json');
    }
    if (asAdmin) {
      if (typeof body.token !== 'string') return sendError(res, 400, 'Field "token" is required when registering with an API key.', 'invalid_request_error', 'missing_token');
      const token = await verifier.verify(body.token, ['tunnel-token']);
      // Another account's token is as unknown here as one never issued.
      if (!token.ok || token.record.accountId !== accountId) {
        return sendError(res, 400, 'Tunnel token rejected: this gateway did not issue it to this account, or it was revoked (field "token").', 'invalid_request_error', 'unknown_token');
      }
      tokenId = token.record.id;
    } else if (body.token !== undefined) {
      const same = typeof body.token === 'string' ? await verifier.verify(body.token, ['tunnel-token']) : null;
      if (!same?.ok || same.record.id !== tokenId) return sendError(res, 400, 'Field "token" differs from the token used to authenticate.', 'invalid_request_error', 'token_mismatch');
    }
    if (typeof body.name !== 'string') return sendError(res, 400, 'Field "name" is required: the deployment name clients will use as "model".', 'invalid_request_error', 'missing_name');

    if (body.pool !== undefined && typeof body.pool !== 'boolean') return sendError(res, 400, 'Field "pool" must be true or false.', 'invalid_request_error', 'invalid_pool');
    const pool = body.pool === true;
    let result;
    try {
      result = await store.register(accountId, body.name, tokenId!, { allowMove: asAdmin, pool });
    } catch (error) {
      if (error instanceof TokiosError && error.code === 'FORBIDDEN') {
        const what = pool ? 'Adding a token to its pool' : 'Moving it there (the swap)';
        return sendError(res, 403, `'${body.name}' is bound to another tunnel token. ${what} needs an admin credential: set TOKIOS_API_KEY (or --api-key-file) to an admin key of this gateway (tokios key create --scope admin), or use the dashboard.`, 'permission_error', 'swap_needs_admin');
      }
      throw error;
    }
    await this.bound(accountId);
    const swapped = result.previousTokenId !== null;
    log.info(`deployment '${body.name}' ${result.created ? 'registered' : swapped ? 're-registered to another token (swap)' : result.pooled ? 'gained a token in its pool' : 're-registered'}`);
    reply<'POST /v1/deployments'>(res, result.created ? 201 : 200, {
      deployment: { ...this.live(accountId, result.deployment.name), created: result.deployment.created, updated: result.deployment.updated },
      created: result.created,
      swapped,
      renamedFrom: result.renamedFrom,
      pooled: result.pooled,
    });
  }

  /** Bindings changed here: apply them now (from the store, the one truth), and tell every other subscriber. */
  private async bound(accountId: string): Promise<void> {
    this.options.registries.loadBindings(await this.options.store.deployments(accountId), accountId);
    this.options.bus.publish({ type: 'deployments-changed', accountId });
  }
}

/** The NAME or REF of an item path, percent-decoded; malformed escapes are the client's error. */
function decodeName(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new TokiosError('INVALID_ARGUMENT', `The name in the path is not valid percent-encoding: '${encoded.slice(0, 80)}'.`);
  }
}

function reply<R extends ControlRoute>(res: ServerResponse, status: number, answer: ControlAnswer<R>): void {
  sendJson(res, status, answer);
}

/** A minted credential carries its secret (the type says so, for the answer's schema). */
function withSecret<F extends 'key' | 'token'>(created: CreatedCredential, field: F): CreatedCredential & Record<F, string> {
  if (typeof created[field] !== 'string') throw new TokiosError('INTERNAL', `a new credential came without its ${field}`);
  return created as CreatedCredential & Record<F, string>;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Refuses a request whose body was not read, and closes the connection after the answer:
 * the unread bytes are never worth receiving.
 */
function refuseUnread(res: ServerResponse, status: number, message: string, type: string, code: string): void {
  sendError(res, status, message, type, code, { connection: 'close' });
}
