import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TokiosError } from '../../shared/errors.js';
import { CloseCode, DEFAULT_HEARTBEAT_MS } from '../../shared/tunnel-protocol.js';
import { Logger, peerText } from '../logging/logger.js';
import { describeSystemError } from '../system-errors.js';
import { ByteBudget } from '../http/held-body.js';
import { AccountAdmin } from './account-admin.js';
import { AccountRegistries } from './account-registries.js';
import { ClientAddress } from './client-address.js';
import { connectionLimits, ConnectionLimiter } from './connection-limiter.js';
import { ControlPlane } from './control-plane.js';
import { DashboardPlane } from './dashboard-plane.js';
import { DeviceGrants } from './device-grants.js';
import { CredentialVerifier } from './credential-verifier.js';
import { DataPlane } from './data-plane.js';
import { CorsPolicy } from './dialects/cors-policy.js';
import { assignRequestId } from './dialects/request-id.js';
import { FileGatewayStore } from './file-store.js';
import type { GatewayStore } from './gateway-store.js';
import { sendError } from './http-util.js';
import { observeRequest, type RequestObserver } from './request-observer.js';
import { LocalInvalidationBus, type Invalidation, type InvalidationBus } from './invalidation-bus.js';
import { LocalLimitCounters, type LimitCounters } from './limit-counters.js';
import { RequestAccounting } from './request-accounting.js';
import { RequestAuth } from './request-auth.js';
import { SignInThrottle } from './sign-in-throttle.js';
import { MemoryRequestLog, type RequestLog } from './request-log.js';
import { TunnelPlane } from './tunnel-plane.js';
import { UsageMeter } from './usage-meter.js';
import { join } from 'node:path';
import { ensurePrivateDir } from '../storage/atomic-file.js';
import type { PostgresGatewayStore } from './postgres-store.js';
import type { LimitsWhenDown } from './redis-limit-counters.js';
import type { ReplicaSet } from './replica-set.js';

/**
 * The routing gateway: data, control and tunnel planes on one HTTP server, for one account
 * or many. What must last sits behind `GatewayStore`; what replicas would share and change
 * fast (limit counters, invalidations) behind `LimitCounters` and `InvalidationBus`, each
 * in-process here by default.
 */

/** Running as one replica of many (docs/ARCHITECTURE.md, replicas and pools). */
export interface ReplicationOptions {
  /** Redis shared by the replicas: which replica holds which tunnel, and the limit counters. */
  redisUrl: string;
  /** How other replicas reach this one (default: the URL it listens on). */
  advertiseUrl?: string;
  /** Limits while Redis is away: open (each replica counts alone) or closed (limited keys get 503). */
  limitsWhenRedisDown: LimitsWhenDown;
}

export interface GatewayOptions {
  /** Folder for the file store (`gateway.json`, `usage.jsonl`), and for usage a stopping gateway could not write; created owner-only. */
  dataDir: string;
  /** Another store instead of the file store in `dataDir`. */
  store?: GatewayStore;
  /** Join other replicas through Redis; needs the PostgreSQL store (their shared secret lives there). */
  replication?: ReplicationOptions;
  bus?: InvalidationBus;
  counters?: LimitCounters;
  requestLog?: RequestLog;
  /** The clock of policies (limits, expiry, sessions); tests move it. */
  now?: () => number;
  /** How often counted usage is written to the store (default 10 s). */
  usageFlushMs?: number;
  /** Serve HTTPS and WSS with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (default: none). */
  trustProxy?: string[];
  /** Whether people may create accounts on the dashboard (default: no). */
  signup?: boolean;
  /** How long a dashboard sign-in lasts (default 12 h). */
  sessionTtlMs?: number;
  /** The built dashboard (default: dist/renderer next to the code). */
  dashboardDir?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  maxBodyBytes?: number;
  /** Request body bytes held at once across all requests (default 256 MiB); past it, 503. */
  maxHeldBodyBytes?: number;
  /** Open connections at once (default 8192), and from one peer — an IPv4 address or IPv6 /64 (default an eighth of the total). See connection-limiter.ts. */
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
  /** How long a new connection may stay silent before it is closed (default 5 s). */
  firstRequestMs?: number;
  heartbeatMs?: number;
  /** How long requests wait for a deployment whose tunnel just dropped (default 5 s). */
  offlineGraceMs?: number;
  /** How long `close()` waits for requests in flight (default 30 s). */
  drainTimeoutMs?: number;
  /** Only API keys may register names (a leaked tunnel token then cannot re-bind one). */
  registerNeedsApiKey?: boolean;
  /** Origins browser apps may call from (`*` for any); none by default (CORS off). See dialects/cors-policy.ts. */
  corsOrigins?: readonly string[];
  log?: Logger;
  /** Gets one metadata record per client request, refused ones included (the app's request inspector). */
  onRequest?: RequestObserver;
}

export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:8787`. */
  readonly url: string;
  readonly port: number;
  readonly store: GatewayStore;
  readonly registries: AccountRegistries;
  readonly controlPlane: ControlPlane;
  /** Mints and revokes credentials in the store (the embedded app mints its own key here). */
  readonly admin: AccountAdmin;
  /** Stops taking requests (new ones get 503), lets those in flight finish, then closes. */
  close(): Promise<void>;
  /** Drops everything at once. */
  destroy(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
export const DEFAULT_MAX_HELD_BODY_BYTES = 256 * 1024 * 1024;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const log = options.log ?? new Logger('gateway');
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const now = options.now ?? Date.now;
  const fileStore = options.store ? null : new FileGatewayStore(options.dataDir);
  const store: GatewayStore = options.store ?? fileStore!;
  const bus = options.bus ?? new LocalInvalidationBus();
  const replication = options.replication;
  if (replication && !('peerCredential' in store)) throw new TokiosError('USAGE', 'replicas share a PostgreSQL store: give --store postgres://… with --redis');
  if (replication && !replication.advertiseUrl && ['0.0.0.0', '::', ''].includes(options.host ?? '127.0.0.1')) {
    throw new TokiosError('USAGE', 'listening on every address, this replica cannot tell the others where to reach it: give --advertise URL (e.g. http://10.0.0.5:8787)');
  }
  // Made before the tunnel plane and registries, which it reads once requests arrive.
  let tunnelPlaneRef: TunnelPlane | null = null;
  let registriesRef: AccountRegistries | null = null;
  // Loaded only for replicas: a single gateway (and the app's embedded one) never carries ioredis.
  const replicaModules = replication ? await Promise.all([import('./replica-set.js'), import('./redis-limit-counters.js'), import('./peer-links.js')]) : null;
  const replicas: ReplicaSet | null = replicaModules && replication
    ? new replicaModules[0].ReplicaSet({
        redisUrl: replication.redisUrl,
        credential: await (store as PostgresGatewayStore).peerCredential(),
        get registries() {
          return registriesRef!;
        },
        tunnel: (id) => tunnelPlaneRef?.tunnel(id),
        heartbeatMs,
        log,
      })
    : null;
  const shared = replicas && replicaModules && replication && !options.counters
    ? new replicaModules[1].RedisLimitCounters({ redis: replicas.redis, replicaId: replicas.id, alivePrefix: replicaModules[0].ALIVE_PREFIX, whenDown: replication.limitsWhenRedisDown, log })
    : null;
  const counters = options.counters ?? shared ?? new LocalLimitCounters(now);
  if (replicas && shared) replicas.onRedisBack = () => void shared.resync();
  const peerPath = replicaModules?.[2].PEER_PATH;
  const requestLog = options.requestLog ?? new MemoryRequestLog();
  let draining = false;
  /** Known once listening; requests only arrive after that. */
  let baseUrl = '';

  const verifier = new CredentialVerifier(store, { log, now });
  ensurePrivateDir(options.dataDir);
  const meter = new UsageMeter(store, { log, now, spillFile: join(options.dataDir, 'usage-unwritten.jsonl'), ...(options.usageFlushMs ? { flushMs: options.usageFlushMs } : {}) });
  const admin = new AccountAdmin(store, { now, bus, pendingLastUsed: (id) => verifier.pendingLastUsed(id) });
  const auth = new RequestAuth(verifier);

  // The registries ask the tunnel plane to tell a tunnel its binding; the plane is made next.
  let tunnelPlane: TunnelPlane | null = null;
  const registries = new AccountRegistries(log, (entry) => tunnelPlane?.sendSettings(entry));
  registriesRef = registries;
  const clientAddress = new ClientAddress(options.trustProxy);
  tunnelPlane = new TunnelPlane({ verifier, registries, log, heartbeatMs, now, clientAddress, ...(replicas ? { onTunnelChange: (entry, gone) => replicas.tunnelChanged(entry, gone) } : {}) });
  tunnelPlaneRef = tunnelPlane;
  registries.loadBindings(await store.deployments());

  // One path for every change, made here or by any process sharing the store (the CLI,
  // other replicas): drop what was cached, close what a revoked token holds open, reload bindings.
  const apply = (message: Invalidation): void => {
    verifier.invalidate();
    if (message.type === 'credential-revoked') {
      if (message.kind === 'tunnel-token') tunnelPlane.revokeToken(message.id);
    } else {
      void store.deployments(message.accountId ?? undefined).then(
        (records) => registries.loadBindings(records, message.accountId),
        (error: Error) => log.error(`could not reload deployments: ${error.message}`),
      );
    }
  };
  const unsubscribe = bus.subscribe(apply);
  const stopWatching = store.watchChanges(apply);
  if (fileStore) {
    fileStore.onNotice = (message) => log.warn(message);
    void fileStore.compactUsage().catch((error: Error) => log.warn(`could not compact ${fileStore.dir}/usage.jsonl: ${error.message}`));
  }

  const accounting = new RequestAccounting({ counters, meter, requestLog });

  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxHeldBodyBytes = options.maxHeldBodyBytes ?? DEFAULT_MAX_HELD_BODY_BYTES;
  if (maxHeldBodyBytes < maxBodyBytes) {
    log.warn(`the limit of request bodies held at once (${maxHeldBodyBytes} bytes) is below the largest body allowed (${maxBodyBytes}): bodies between the two will always get 503`);
  }
  const dataPlane = new DataPlane({
    auth,
    registries,
    accounting,
    log,
    maxBodyBytes,
    heldBodies: new ByteBudget(maxHeldBodyBytes),
    offlineGraceMs: options.offlineGraceMs ?? 5000,
    isDraining: () => draining,
  });
  const dashboard = new DashboardPlane({
    store, auth, admin, counters, clientAddress, bus, log, now,
    grants: new DeviceGrants(now),
    throttle: new SignInThrottle(now),
    sessionTtlMs: options.sessionTtlMs ?? 12 * 3_600_000,
    signup: options.signup ?? false,
    ...(options.dashboardDir ? { assetsDir: options.dashboardDir } : {}),
  });
  const controlPlane = new ControlPlane({ store, registries, auth, verifier, admin, meter, requestLog, bus, log, now, registerNeedsApiKey: options.registerNeedsApiKey ?? false });
  const cors = new CorsPolicy(options.corsOrigins ?? [], log);

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // Already answered 503 by the connection limiter.
    if (ConnectionLimiter.isRefused(req.socket)) return void req.socket.destroy();
    assignRequestId(req, res);
    if (cors.handle(req, res)) return;
    const url = req.url ?? '';
    if (!url.startsWith('/')) {
      sendError(res, 400, 'Request target must be a path (origin-form), not an absolute URI.', 'invalid_request_error', 'bad_request_target');
      return;
    }
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';
    let work: Promise<void> | undefined;
    const isDashboard = dashboard.handles(req, method, pathname);
    // Client traffic only: the control plane, the dashboard and the health check are people
    // and the app talking to the gateway itself.
    if (options.onRequest && !isDashboard && !controlPlane.knowsPath(pathname) && pathname !== '/') observeRequest(req, res, pathname, options.onRequest);
    // Browsers get the dashboard at `/`; anything else there hears what this is and how to use it.
    if (isDashboard) work = dashboard.handle(req, res, pathname);
    else if (pathname === '/' && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Tokios gateway is running.\nOpenAI-compatible clients: OPENAI_BASE_URL=${baseUrl}/v1 with an API key from 'tokios key create'.\nThe dashboard is at ${baseUrl}/ in a browser.\n`);
    } else if (dataPlane.handles(method, pathname)) work = dataPlane.handle(req, res, pathname);
    else if (controlPlane.handles(method, pathname)) work = controlPlane.handle(req, res, pathname);
    else if (dataPlane.knowsPath(pathname) || controlPlane.knowsPath(pathname)) {
      sendError(res, 405, `${method} is not allowed on ${pathname}.`, 'invalid_request_error', 'method_not_allowed');
    } else {
      sendError(res, 404, `Unknown endpoint ${method} ${pathname}.`, 'invalid_request_error', 'unknown_endpoint');
    }
    work?.catch((error: unknown) => {
      // A bug one request met: that request gets a 500; the log a line per window, however often a client repeats it.
      log.errorRepeated(`internal ${method}`, `${method} ${peerText(pathname, 100)} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      sendError(res, 500, 'Internal gateway error.', 'server_error', 'internal_error');
    });
  };

  // Sockets that dribble headers (slowloris) are closed by headersTimeout, checked every 5 s.
  const serverOptions: ServerOptions = { maxHeaderSize: 32 * 1024, noDelay: true, connectionsCheckingInterval: 5000 };
  let server: Server;
  try {
    server = options.tls ? createTlsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, onRequest) : createServer(serverOptions, onRequest);
  } catch (error) {
    throw new TokiosError('USAGE', `the TLS certificate and key cannot be used together (${(error as Error).message}); check that the key belongs to the certificate`);
  }
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  server.keepAliveTimeout = 65_000;
  const limiter = new ConnectionLimiter(connectionLimits({ maxConnections: options.maxConnections, maxPerAddress: options.maxConnectionsPerAddress, firstRequestMs: options.firstRequestMs }), log);
  server.on('connection', limiter.onConnection);
  server.on('request', limiter.onRequest);
  server.on('upgrade', (req, socket, head) => {
    if (ConnectionLimiter.isRefused(req.socket)) return void socket.destroy();
    limiter.onUpgrade(req.socket);
    if (replicas && (req.url ?? '').split('?')[0] === peerPath) return replicas.handleUpgrade(req, socket, head);
    tunnelPlane.handleUpgrade(req, socket, head);
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      if (error.code === 'EADDRINUSE') reject(new TokiosError('PORT_IN_USE', `port ${options.port} on ${host} is already in use (another gateway, or Tokios Desktop?); choose another with --port`));
      else if (error.code === 'EACCES') reject(new TokiosError('USAGE', `not allowed to listen on ${host}:${options.port}; use a port above 1023`));
      else reject(new TokiosError('USAGE', `cannot listen on ${host}:${options.port}: ${describeSystemError(error)}; give --host an address of this machine (127.0.0.1, or 0.0.0.0 for all of them)`));
    };
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  baseUrl = url;


  const shutdownTunnels = (reason: string): void => {
    for (const entry of registries.allTunnels()) entry.session.close(CloseCode.GoingAway, reason);
    tunnelPlane.close();
  };
  /** What counted and cached state this process holds goes to the store before it stops. */
  const release = async (): Promise<void> => {
    unsubscribe();
    stopWatching();
    await Promise.all([meter.close(), verifier.close(), counters.close()]);
    if (!options.bus) await bus.close();
    if (!options.store) await store.close();
  };

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      draining = true;
      log.info(`draining: ${dataPlane.inFlight} request(s) in flight`);
      const timeout = options.drainTimeoutMs ?? 30_000;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([dataPlane.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
      clearTimeout(timer);
      shutdownTunnels('gateway shutting down');
      // Peer links are upgraded sockets the HTTP server would wait for: they go first.
      await replicas?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await release();
      log.info('stopped');
    })());

  const destroy = async (): Promise<void> => {
    draining = true;
    for (const entry of registries.allTunnels()) entry.session.destroy('gateway destroyed');
    tunnelPlane.close();
    await replicas?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await release();
  };

  if (replicas) {
    try {
      await replicas.start(replication?.advertiseUrl ?? url);
    } catch (error) {
      await destroy();
      throw new TokiosError('USAGE', (error as Error).message);
    }
  }

  log.info(`listening on ${url} (data in ${store.location})${cors.enabled ? `; browser apps allowed from ${(options.corsOrigins ?? []).join(', ')}` : ''}`);
  return { url, port, store, registries, controlPlane, admin, close, destroy };
}
