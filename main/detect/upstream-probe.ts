import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { UpstreamKind } from '../../shared/tunnel-protocol.js';
import { describeSystemError, systemErrorCode } from '../system-errors.js';

/**
 * What is listening at a base URL, asked the way each server documents itself:
 * Ollama answers `/api/version` and lists models at `/api/tags`; llama.cpp's
 * `llama-server` answers `/props` (and `/health`, 503 while it loads the model); any
 * OpenAI-compatible server lists models at `/v1/models`.
 */

export interface UpstreamInfo {
  url: string;
  kind: UpstreamKind;
  reachable: boolean;
  version: string | null;
  models: string[];
  /** llama.cpp answers 503 while loading its model. */
  loading: boolean;
  /** Why it is unreachable or unrecognised, in plain words. */
  problem: string | null;
}

export interface ProbeOptions {
  timeoutMs?: number;
}

export interface Answer {
  status: number;
  json: unknown;
}

/**
 * A small request with node:http rather than fetch: fetch would load a second HTTP client
 * into every connector process just for these few probes.
 */
export function probeRequest(base: string, method: 'GET' | 'POST', path: string, timeoutMs: number, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < 1_000_000) text += chunk;
      });
      res.on('end', () => {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON: callers see null
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TimeoutError' })));
    req.on('error', reject);
    req.end(body);
  });
}

function get(base: string, path: string, timeoutMs: number): Promise<Answer> {
  return probeRequest(base, 'GET', path, timeoutMs);
}

function describeFailure(url: string, error: unknown): string {
  if (systemErrorCode(error) === 'ECONNREFUSED') return `nothing is listening at ${url}`;
  return `${url} is unreachable: ${describeSystemError(error)}`;
}

function modelIds(json: unknown): string[] {
  const data = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return [];
  return data.map((m) => (m as { id?: unknown }).id).filter((id): id is string => typeof id === 'string');
}

export async function probeUpstream(url: string, options: ProbeOptions = {}): Promise<UpstreamInfo> {
  const timeoutMs = options.timeoutMs ?? 1500;
  const info: UpstreamInfo = { url, kind: 'unknown', reachable: false, version: null, models: [], loading: false, problem: null };
  try {
    const version = await get(url, '/api/version', timeoutMs);
    info.reachable = true;
    const v = (version.json as { version?: unknown } | null)?.version;
    if (version.status === 200 && typeof v === 'string') {
      info.kind = 'ollama';
      info.version = v;
      const tags = await get(url, '/api/tags', timeoutMs);
      const models = (tags.json as { models?: Array<{ name?: unknown; model?: unknown }> } | null)?.models;
      if (Array.isArray(models)) info.models = models.map((m) => m.name ?? m.model).filter((n): n is string => typeof n === 'string');
      return info;
    }

    const props = await get(url, '/props', timeoutMs);
    const p = props.json as { default_generation_settings?: unknown; build_info?: unknown; model_path?: unknown; error?: { message?: unknown } } | null;
    if (props.status === 200 && p && (p.default_generation_settings !== undefined || p.model_path !== undefined)) {
      info.kind = 'llamacpp';
      info.version = typeof p.build_info === 'string' ? p.build_info : null;
      info.models = modelIds((await get(url, '/v1/models', timeoutMs)).json);
      return info;
    }
    const health = await get(url, '/health', timeoutMs);
    if (health.status === 503 && /loading/i.test(JSON.stringify(health.json))) {
      info.kind = 'llamacpp';
      info.loading = true;
      info.problem = 'llama-server is still loading its model';
      return info;
    }

    const models = await get(url, '/v1/models', timeoutMs);
    if (models.status === 200 && Array.isArray((models.json as { data?: unknown } | null)?.data)) {
      info.kind = 'openai';
      info.models = modelIds(models.json);
      return info;
    }
    info.problem = `${url} answers HTTP but is not Ollama, llama.cpp or an OpenAI-compatible server`;
    return info;
  } catch (error) {
    info.problem = describeFailure(url, error);
    return info;
  }
}
