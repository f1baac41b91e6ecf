import { EventEmitter } from 'node:events';
import type { ErrorCode, TokiosError } from '../../shared/errors.js';
import type { ConnectorHealth, RequestRecord, TunnelState } from '../../shared/health.js';
import { DEFAULT_LIMITS, type HelloPayload, type RequestHead, type SettingsPayload } from '../../shared/tunnel-protocol.js';
import type { TokiosConfig } from '../../shared/tokios-config.js';
import { upstreamEndpoints } from '../../shared/upstream-endpoints.js';
import { probeUpstream, type UpstreamInfo } from '../detect/upstream-probe.js';
import { Logger, peerText } from '../logging/logger.js';
import type { TunnelSession, TunnelStream } from '../tunnel/tunnel-session.js';
import { VERSION } from '../version.js';
import type { BackoffPolicy } from '../../shared/backoff.js';
import { probeEndpoints } from './endpoint-probe.js';
import { TunnelClient, type TunnelClientStatus } from './tunnel-client.js';
import { UpstreamForwarder, type ModelResolution } from './upstream-forwarder.js';

/**
 * A connector: one tunnel to the gateway, one upstream behind it, and the health the app
 * shows for it. Used by `tokios connect` and by the app's worker processes alike.
 */

export type ConnectorEvents = {
  /** At most once per event-loop turn, whenever something in it changed. */
  health: [health: ConnectorHealth];
  /** A request finished (metadata only). */
  request: [record: RequestRecord];
  /** The tunnel could not be opened or kept (unreachable, an HTTP error): the connector keeps retrying. */
  'gateway-problem': [error: TokiosError];
  /** The token was rejected; the connector has stopped. */
  fatal: [error: TokiosError];
};

export interface ConnectorOptions {
  config: TokiosConfig;
  gatewayUrl: string;
  log?: Logger;
  heartbeatMs?: number;
  backoff?: BackoffPolicy;
  /** How often the upstream is probed while idle, to notice it going down or coming back. */
  upstreamProbeMs?: number;
  /** How often while it is down (default 2 s). */
  upstreamDownProbeMs?: number;
  /** Request body bytes held at once across all streams (the forwarder's default otherwise). */
  maxHeldBodyBytes?: number;
}

export class Connector extends EventEmitter<ConnectorEvents> {
  private readonly log: Logger;
  private readonly client: TunnelClient;
  private readonly forwarder: UpstreamForwarder;
  private upstream: UpstreamInfo;
  /** The version-dependent endpoints (Messages, Responses) the upstream was found to serve. */
  private probedEndpoints: string[] = [];
  private upstreamReachable: boolean | null = null;
  private lastProbe = 0;
  private probing: Promise<UpstreamInfo> | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly totals = { requests: 0, errors: 0, promptTokens: 0, completionTokens: 0 };
  private lastError: ConnectorHealth['lastError'] = null;
  private state: TunnelState = 'connecting';
  private since = Date.now();
  private healthQueued = false;

  constructor(private readonly options: ConnectorOptions) {
    super();
    this.log = options.log ?? new Logger('connector');
    const { config } = options;
    this.upstream = { url: config.upstream, kind: 'unknown', reachable: false, version: null, models: [], loading: false, problem: null };
    this.forwarder = new UpstreamForwarder({
      upstream: config.upstream,
      log: this.log,
      resolveModel: () => this.resolveModel(),
      upstreamKind: () => this.upstream.kind,
      onUpstreamReachable: (reachable, problem) => this.setUpstreamReachable(reachable, problem),
      onRecord: (record) => this.onRecord(record),
      onActivity: () => this.queueHealth(),
      ...(options.maxHeldBodyBytes ? { maxHeldBodyBytes: options.maxHeldBodyBytes } : {}),
    });
    this.client = new TunnelClient({
      gatewayUrl: options.gatewayUrl,
      token: config.tunnel_token,
      log: this.log,
      hello: () => this.hello(),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    });
    this.client.on('status', () => this.updateState());
    this.client.on('settings', (settings) => this.onSettings(settings));
    this.client.on('session', (session) => this.onSession(session));
    this.client.on('error-seen', (error) => {
      this.setError(error.code, error.message);
      this.emit('gateway-problem', error);
    });
    this.client.on('fatal', (error) => {
      this.setError(error.code, error.message);
      this.stopProbing();
      this.emit('fatal', error);
    });
  }

  /** Probes the upstream once (so Hello can say what it is), then dials the gateway. */
  async start(): Promise<void> {
    const warning = plainTextTokenWarning(this.options.gatewayUrl);
    if (warning) this.log.warn(warning);
    await this.probe();
    this.client.start();
    const every = this.options.upstreamProbeMs ?? 15_000;
    // While the upstream is down it is probed more often, so the gateway hears soon that it is back.
    const downEvery = Math.min(every, this.options.upstreamDownProbeMs ?? 2000);
    const next = (): void => {
      if (this.stopped) return;
      this.probeTimer = setTimeout(() => {
        if (this.forwarder.inFlight === 0 || this.upstreamReachable === false) void this.probe().then(next, next);
        else next();
      }, this.upstreamReachable === false ? downEvery : every);
      this.probeTimer.unref();
    };
    next();
  }

  /** SIGTERM behaviour: go-away, finish what is in flight (bounded), then close. */
  async close(timeoutMs = 30_000): Promise<void> {
    this.stopProbing();
    await this.client.close(timeoutMs);
    this.forwarder.destroy();
    this.updateState();
  }

  destroy(): void {
    this.stopProbing();
    this.client.destroy();
    this.forwarder.destroy();
    this.updateState();
  }

  get health(): ConnectorHealth {
    const { config } = this.options;
    return {
      state: this.state,
      since: this.since,
      deployment: this.client.settings?.deployment ?? null,
      gateway: this.options.gatewayUrl,
      upstream: {
        url: config.upstream,
        kind: this.upstream.kind,
        reachable: this.upstreamReachable,
        models: this.upstream.models,
        model: config.model ?? (this.upstream.models.length === 1 ? this.upstream.models[0]! : null),
      },
      rttMs: this.client.session?.rttMs ?? null,
      inFlight: this.forwarder.inFlight,
      totals: { ...this.totals },
      lastError: this.lastError,
      connectedSince: this.client.connectedSince,
      reconnects: this.client.reconnects,
    };
  }

  private hello(): HelloPayload {
    return {
      version: VERSION,
      upstreamKind: this.upstream.kind,
      models: this.upstream.models.slice(0, 1000),
      model: this.options.config.model ?? (this.upstream.models.length === 1 ? this.upstream.models[0]! : null),
      // An upstream not identified yet says nothing: the gateway then passes everything through.
      ...(this.upstream.kind === 'unknown' ? {} : { endpoints: upstreamEndpoints(this.upstream.kind, this.probedEndpoints) }),
      limits: DEFAULT_LIMITS,
    };
  }

  private onSession(session: TunnelSession): void {
    session.on('stream', (stream: TunnelStream, head: RequestHead) => this.forwarder.handle(stream, head));
    session.on('rtt', () => this.queueHealth());
    session.on('goaway', ({ reason }: { reason: string }) => {
      this.log.info(`gateway asked this tunnel to drain: ${peerText(reason)}`);
      this.updateState();
    });
  }

  private onSettings(settings: SettingsPayload): void {
    if (settings.deployment && settings.serving) this.log.info(`serving deployment '${peerText(settings.deployment)}'`);
    else this.log.info('connected; waiting for the gateway to bind a deployment name to this token');
    this.sendStatus();
    this.updateState();
  }

  /**
   * Tells the gateway whether the upstream passes its health checks, so a pool's other
   * members take the requests while it does not. Only to a gateway that accepts the frame.
   */
  private sendStatus(): void {
    const session = this.client.session;
    if (!session || !this.client.settings?.accepts?.includes('status')) return;
    session.sendStatus({ upstream: this.upstreamReachable === false ? 'down' : 'up' });
  }

  private onRecord(record: RequestRecord): void {
    this.totals.requests++;
    if (record.status >= 500 || record.error) this.totals.errors++;
    this.totals.promptTokens += record.promptTokens ?? 0;
    this.totals.completionTokens += record.completionTokens ?? 0;
    if (record.error && record.status !== 499) this.setError(record.status === 403 ? 'PATH_NOT_ALLOWED' : 'REQUEST_FAILED', `${record.path}: ${record.error}`);
    this.emit('request', record);
    this.queueHealth();
  }

  private setError(code: ErrorCode, message: string): void {
    this.lastError = { code, message, at: Date.now() };
    this.queueHealth();
  }

  private setUpstreamReachable(reachable: boolean, problem: string | null): void {
    if (this.upstreamReachable === reachable) return;
    this.upstreamReachable = reachable;
    if (reachable) this.log.info(`upstream ${this.options.config.upstream} is reachable`);
    else {
      this.log.warn(problem ?? `upstream ${this.options.config.upstream} is unreachable`);
      this.setError('UPSTREAM_UNREACHABLE', problem ?? 'upstream unreachable');
    }
    this.sendStatus();
    this.updateState();
  }

  private updateState(): void {
    const next = this.computeState(this.client.status);
    if (next !== this.state) {
      this.state = next;
      this.since = Date.now();
    }
    this.queueHealth();
  }

  private computeState(status: TunnelClientStatus): TunnelState {
    switch (status) {
      case 'rejected':
        return 'token-rejected';
      case 'stopped':
        return 'offline';
      case 'connecting':
        return 'connecting';
      case 'reconnecting':
        return 'reconnecting';
      case 'connected': {
        const settings = this.client.settings;
        if (!settings) return this.client.reconnects > 0 ? 'reconnecting' : 'connecting';
        if (!settings.deployment || !settings.serving) return 'waiting';
        return this.upstreamReachable === false ? 'upstream-down' : 'online';
      }
    }
  }

  /** Health goes out at most once per event-loop turn, however many things changed. */
  private queueHealth(): void {
    if (this.healthQueued) return;
    this.healthQueued = true;
    setImmediate(() => {
      this.healthQueued = false;
      this.emit('health', this.health);
    });
  }

  private async probe(): Promise<UpstreamInfo> {
    this.probing ??= probeUpstream(this.options.config.upstream).then(async (info) => {
      if (info.reachable && !info.loading && (info.kind !== this.upstream.kind || info.version !== this.upstream.version)) {
        this.probedEndpoints = await probeEndpoints(this.options.config.upstream);
        if (this.probedEndpoints.length > 0) this.log.info(`upstream ${info.url} also serves ${this.probedEndpoints.join(' and ')} itself`);
      }
      this.probing = null;
      this.lastProbe = Date.now();
      if (info.reachable) {
        const changed = info.kind !== this.upstream.kind || info.models.join('\n') !== this.upstream.models.join('\n');
        this.upstream = info;
        if (changed) {
          this.log.info(`upstream ${info.url}: ${info.kind}${info.version ? ` ${info.version}` : ''}, models: ${info.models.join(', ') || '(none)'}`);
          const model = this.options.config.model;
          if (!model && info.models.length > 1) {
            this.log.warn(`the upstream serves ${info.models.length} models and the config names none: requests will fail until "model" is set (one of ${info.models.slice(0, 5).join(', ')}${info.models.length > 5 ? ', …' : ''})`);
          } else if (model && info.models.length > 0 && !info.models.includes(model) && info.kind !== 'llamacpp') {
            this.log.warn(`the upstream does not list the model "${model}" (it has ${info.models.slice(0, 5).join(', ')}); check "model" in the config`);
          }
        }
      }
      this.setUpstreamReachable(info.reachable && !info.loading, info.problem);
      return info;
    });
    return this.probing;
  }

  private stopProbing(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.stopped = true;
  }

  /** The upstream model for `model` rewriting: the config's, else the upstream's only one. */
  private async resolveModel(): Promise<ModelResolution> {
    const configured = this.options.config.model;
    if (configured) return { model: configured };
    let models = this.upstream.models;
    if (models.length !== 1 && Date.now() - this.lastProbe > 2000) models = (await this.probe()).models;
    if (models.length === 1) return { model: models[0]! };
    if (models.length === 0) {
      return { problem: `upstream ${this.options.config.upstream} lists no models (load or pull one, or set "model" in tokios.json)` };
    }
    return {
      problem: `upstream ${this.options.config.upstream} serves several models (${models.slice(0, 10).join(', ')}); set "model" in tokios.json to pick one`,
    };
  }
}

/**
 * Why sending the tunnel token to `gatewayUrl` exposes it, or null when it does not: plain
 * `http://` to another machine shows the token to anyone on the path, and whoever has it can
 * serve the deployment's traffic. Loopback never leaves this machine.
 */
export function plainTextTokenWarning(gatewayUrl: string): string | null {
  const url = new URL(gatewayUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') return null;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const loopback = host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || /^::ffff:127\./.test(host) || /^::ffff:7f/.test(host);
  if (loopback) return null;
  return `the tunnel token goes to ${url.host} over plain http://: anyone on the network path can read it and take over this deployment's traffic; put the gateway behind TLS and use https://`;
}
