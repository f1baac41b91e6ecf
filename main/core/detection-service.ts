import type { DetectedUpstream, DeploymentView, ProbeResult } from '../../shared/api.js';
import { TokiosError } from '../../shared/errors.js';
import { upstreamFromInput } from '../../shared/tokios-config.js';
import type { UpstreamKind } from '../../shared/tunnel-protocol.js';
import { proposeDeployment, UpstreamDetector, type DetectorOptions } from '../detect/upstream-detector.js';
import { probeUpstream } from '../detect/upstream-probe.js';
import type { Logger } from '../logging/logger.js';
import type { ApiEventBus } from './api-events.js';
import type { SettingsFile } from './app-settings.js';
import type { DeploymentService } from './deployment-service.js';

/**
 * Detection as the UI sees it: the model servers found on this machine, each with a
 * proposed deployment (a free name and its model) and the deployments already using it;
 * the extra endpoints the user added (kept in the settings); one call from a detected
 * server to a running deployment.
 */

export interface DetectionServiceOptions {
  detect?: DetectorOptions;
  settings: SettingsFile;
  deployments: DeploymentService;
  events: ApiEventBus;
  log: Logger;
}

/** How many extra endpoints the settings keep (the newest). */
const MAX_EXTRA_URLS = 32;

export class DetectionService {
  private readonly detector: UpstreamDetector;
  /** The first pass; `list` waits for it rather than answer "nothing" at start-up. */
  private firstScan: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DetectionServiceOptions) {
    this.detector = new UpstreamDetector({ ...options.detect, extraUrls: this.extraUrls(options.settings.get().detectUrls), log: options.log });
    this.detector.on('change', (change) => options.events.emit('detect.changed', { upstreams: this.detected(), change }));
  }

  start(): void {
    this.firstScan = this.detector.start().catch((error: unknown) => this.options.log.warn(`detection failed: ${(error as Error).message}`));
  }

  /** Stops rescanning and waits for a scan in progress. */
  async stop(): Promise<void> {
    await this.detector.stop();
    await this.firstScan;
  }

  async list(): Promise<DetectedUpstream[]> {
    await this.firstScan;
    return this.detected();
  }

  async rescan(): Promise<DetectedUpstream[]> {
    await this.detector.scan();
    return this.detected();
  }

  /** Also probe this OpenAI-compatible (or non-default-port) server from now on. */
  async addEndpoint({ url }: { url: string }): Promise<DetectedUpstream[]> {
    const normalized = upstreamFromInput(url, (problem) => new TokiosError('INVALID_ARGUMENT', `Server URL ${problem}.`));
    const urls = [...new Set([...this.options.settings.get().detectUrls, normalized])].slice(-MAX_EXTRA_URLS);
    await this.detector.setExtraUrls(this.extraUrls(urls));
    this.options.settings.update({ detectUrls: urls });
    return this.detected();
  }

  /** What answers at a URL the user is typing (the add form says so before saving). */
  async probe({ url }: { url: string }): Promise<ProbeResult> {
    const normalized = upstreamFromInput(url, (problem) => new TokiosError('INVALID_ARGUMENT', `The URL ${problem}.`));
    const info = await probeUpstream(normalized, { timeoutMs: 1500 });
    return { url: normalized, reachable: info.reachable, kind: info.kind, models: info.models, problem: info.problem };
  }

  /** What detection found at `url`, for a deployment whose worker has not said yet. */
  kindOf(url: string): UpstreamKind {
    return this.detector.list().find((u) => u.url === url)?.kind ?? 'unknown';
  }

  /** A deployment for a detected server: name and model proposed unless given. */
  async createDeployment(args: { url: string; name?: string; model?: string | null; token?: string | null; replace?: boolean }): Promise<DeploymentView> {
    const { url, name, model, token, replace } = args;
    const info = this.detected().find((u) => u.url === url) ?? (await this.detector.scan(), this.detected().find((u) => u.url === url));
    if (!info) throw new TokiosError('NOT_FOUND', `nothing was detected at ${url}; is the model server running?`);
    const proposal = info.proposal;
    const chosenName = name ?? proposal?.name;
    if (!chosenName) throw new TokiosError('INVALID_ARGUMENT', `${url} serves no models yet; load or pull one first`);
    return this.options.deployments.create({ name: chosenName, upstream: url, model: model === undefined ? (proposal?.model ?? null) : model, token: token ?? null, enabled: true, replace: replace ?? false });
  }

  /** The host's own extra endpoints (e.g. `--detect URL`) first, then the user's. */
  private extraUrls(saved: string[]): string[] {
    return [...(this.options.detect?.extraUrls ?? []), ...saved];
  }

  private detected(): DetectedUpstream[] {
    const records = this.options.deployments.records();
    const names = new Set(records.map((d) => d.name));
    return this.detector.list().map((info) => ({
      url: info.url, kind: info.kind, version: info.version, models: info.models, reachable: info.reachable, loading: info.loading, problem: info.problem,
      proposal: proposeDeployment(info, (name) => names.has(name)),
      deploymentIds: records.filter((d) => d.upstream === info.url).map((d) => d.id),
    }));
  }
}
