import { EventEmitter } from 'node:events';
import { normalizeUpstreamUrl } from '../../shared/tokios-config.js';
import { TokiosError } from '../../shared/errors.js';
import type { Logger } from '../logging/logger.js';
import { probeUpstream, type UpstreamInfo } from './upstream-probe.js';

/**
 * Finds local model servers: Ollama on 11434, llama.cpp on 8080, plus any
 * OpenAI-compatible endpoints the user lists. Rescans periodically and emits 'change' for
 * each server that appeared, changed its models or went away (`list()` has them all).
 */

export const DEFAULT_DETECT_URLS = ['http://127.0.0.1:11434', 'http://127.0.0.1:8080'];

export interface DetectorOptions {
  /** Where to look; defaults to Ollama's and llama-server's default ports on loopback. */
  urls?: string[];
  extraUrls?: string[];
  intervalMs?: number;
  timeoutMs?: number;
  /** Where a failed periodic scan is reported. */
  log?: Logger;
}

export type DetectChange = { type: 'appeared' | 'models-changed' | 'gone'; url: string };

export type DetectorEvents = { change: [change: DetectChange] };

export class UpstreamDetector extends EventEmitter<DetectorEvents> {
  private readonly baseUrls: string[];
  private extraUrls: string[];
  private found = new Map<string, UpstreamInfo>();
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<UpstreamInfo[]> | null = null;

  constructor(private readonly options: DetectorOptions = {}) {
    super();
    this.baseUrls = (options.urls ?? DEFAULT_DETECT_URLS).map((u) => normalize(u));
    this.extraUrls = (options.extraUrls ?? []).map((u) => normalize(u));
  }

  /** Scans now and then every `intervalMs`. */
  async start(): Promise<UpstreamInfo[]> {
    const result = await this.scan();
    this.timer = setInterval(() => {
      this.scan().catch((error: unknown) => this.options.log?.warn(`rescanning for model servers failed: ${(error as Error).message}`));
    }, this.options.intervalMs ?? 10_000);
    this.timer.unref();
    return result;
  }

  /** Stops rescanning; resolves once a scan in progress has finished. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.scanning?.catch(() => undefined);
  }

  /** Upstreams that answered, in the order they are probed. */
  list(): UpstreamInfo[] {
    return this.urls().map((u) => this.found.get(u)).filter((i): i is UpstreamInfo => i !== undefined);
  }

  setExtraUrls(urls: string[]): Promise<UpstreamInfo[]> {
    this.extraUrls = urls.map((u) => normalize(u));
    return this.scan();
  }

  /** One pass over every URL; concurrent callers share it. */
  scan(): Promise<UpstreamInfo[]> {
    this.scanning ??= (async () => {
      const urls = this.urls();
      let results: UpstreamInfo[];
      try {
        results = await Promise.all(urls.map((url) => probeUpstream(url, { timeoutMs: this.options.timeoutMs ?? 1500 })));
      } finally {
        this.scanning = null;
      }
      const next = new Map<string, UpstreamInfo>();
      const changes: DetectChange[] = [];
      for (const info of results) {
        const before = this.found.get(info.url);
        if (info.reachable && info.kind !== 'unknown') {
          next.set(info.url, info);
          if (!before) changes.push({ type: 'appeared', url: info.url });
          else if (before.models.join('\n') !== info.models.join('\n') || before.loading !== info.loading) changes.push({ type: 'models-changed', url: info.url });
        } else if (before) {
          changes.push({ type: 'gone', url: info.url });
        }
      }
      for (const url of this.found.keys()) if (!urls.includes(url) && !next.has(url)) changes.push({ type: 'gone', url });
      this.found = next;
      for (const change of changes) this.emit('change', change);
      return this.list();
    })();
    return this.scanning;
  }

  private urls(): string[] {
    return [...new Set([...this.baseUrls, ...this.extraUrls])];
  }
}

function normalize(url: string): string {
  return normalizeUpstreamUrl(url, (problem) => new TokiosError('INVALID_ARGUMENT', `endpoint ${problem}`));
}

/** A deployment name and model for a detected upstream's first model. */
export function proposeDeployment(info: UpstreamInfo, taken: (name: string) => boolean): { name: string; model: string | null } | null {
  const model = info.models[0] ?? null;
  if (!model && info.kind !== 'llamacpp') return null;
  const base = (model ?? info.kind)
    .replace(/^.*\//, '')
    .replace(/\.gguf$/i, '')
    .replace(/:latest$/, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 56) || info.kind;
  let name = base;
  for (let i = 2; taken(name); i++) name = `${base}-${i}`;
  return { name, model };
}
