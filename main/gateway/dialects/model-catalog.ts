import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError, sendJson } from '../http-util.js';
import type { DeploymentView, TunnelRegistry } from '../tunnel-registry.js';

/**
 * The account's deployments as each client library lists them, answered by the gateway
 * itself (no tunnel involved):
 * - `GET /v1/models` and `GET /v1/models/{id}` in OpenAI's shape, or in Anthropic's when
 *   the request carries `anthropic-version` (the Anthropic SDK uses the same paths);
 * - Ollama's `GET /api/tags` (deployments online), `GET /api/ps` (the same: a deployment
 *   online is a model being served), `GET /api/version`, and `POST /api/show` for
 *   deployments whose upstream is not Ollama (an Ollama upstream answers it itself).
 *
 * What the gateway cannot know about a model it does not run (size, quantisation, family)
 * is left empty rather than made up. The digest identifies the deployment and the upstream
 * model it serves, so it changes when a swap changes the model, as Ollama's does.
 */

/** The Ollama API level these answers follow (`capabilities` in /api/show came with 0.6.4). */
export const OLLAMA_API_VERSION = '0.12.0';
/** Go's zero time: what Ollama shows for a time it does not have. */
const NO_TIME = '0001-01-01T00:00:00Z';

/** The deployments one request may see: its account's, narrowed to what its key may use. */
export interface CatalogScope {
  registry: TunnelRegistry;
  /** The key's deployments, when it is limited to some. */
  allowed: readonly string[] | null;
}

export class ModelCatalog {
  /** True when this catalog answers `method pathname`. */
  handles(method: string, pathname: string): boolean {
    if (method !== 'GET') return false;
    return pathname === '/v1/models' || pathname.startsWith('/v1/models/') || pathname === '/api/tags' || pathname === '/api/ps' || pathname === '/api/version';
  }

  /** Paths it knows (405 for other methods rather than 404). */
  knowsPath(pathname: string): boolean {
    return this.handles('GET', pathname);
  }

  handle(req: IncomingMessage, res: ServerResponse, pathname: string, scope: CatalogScope): void {
    const { registry, allowed } = scope;
    const visible = (name: string): boolean => !allowed || allowed.includes(name);
    const anthropic = req.headers['anthropic-version'] !== undefined;
    if (pathname === '/api/version') return sendJson(res, 200, { version: OLLAMA_API_VERSION });
    const online = (): DeploymentView[] => registry.onlineNames().filter(visible).flatMap((name) => registry.view(name) ?? []);
    if (pathname === '/api/tags') return sendJson(res, 200, { models: online().map((view) => tag(view)) });
    if (pathname === '/api/ps') return sendJson(res, 200, { models: online().map((view) => ({ ...tag(view), expires_at: NO_TIME, size_vram: 0 })) });
    if (pathname === '/v1/models') {
      const views = online();
      if (anthropic) {
        const data = views.map(anthropicModel);
        return sendJson(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
      }
      return sendJson(res, 200, { object: 'list', data: views.map(openAIModel) });
    }
    let id: string;
    try {
      id = decodeURIComponent(pathname.slice('/v1/models/'.length));
    } catch {
      id = pathname.slice('/v1/models/'.length);
    }
    const view = visible(id) ? registry.view(id) : null;
    if (!view) {
      const names = registry.names().filter(visible);
      const known = names.length ? `Deployments on this gateway: ${names.join(', ')}.` : 'This gateway has no deployments yet.';
      return sendError(res, 404, `The model '${id.slice(0, 100)}' does not exist. ${known}`, 'invalid_request_error', 'model_not_found');
    }
    sendJson(res, 200, anthropic ? anthropicModel(view) : openAIModel(view));
  }
}

/** What the catalog needs to know of a deployment. */
type ModelView = Pick<DeploymentView, 'name' | 'upstreamKind' | 'upstreamModel' | 'connectedSince'>;

function created(view: ModelView): number {
  return Math.floor((view.connectedSince ?? Date.now()) / 1000);
}

function openAIModel(view: ModelView): Record<string, unknown> {
  return { id: view.name, object: 'model', created: created(view), owned_by: 'tokios' };
}

function anthropicModel(view: ModelView): { type: string; id: string; display_name: string; created_at: string } {
  return { type: 'model', id: view.name, display_name: view.name, created_at: new Date(created(view) * 1000).toISOString() };
}

function details(view: ModelView): Record<string, unknown> {
  const gguf = view.upstreamKind === 'ollama' || view.upstreamKind === 'llamacpp';
  return { parent_model: '', format: gguf ? 'gguf' : '', family: '', families: null, parameter_size: '', quantization_level: '' };
}

function tag(view: ModelView): Record<string, unknown> {
  const digest = createHash('sha256').update(`${view.name}\0${view.upstreamModel ?? ''}`).digest('hex');
  const modifiedAt = view.connectedSince ? new Date(view.connectedSince).toISOString() : NO_TIME;
  return { name: view.name, model: view.name, modified_at: modifiedAt, size: 0, digest, details: details(view) };
}

/** `/api/show` for a deployment whose upstream is not Ollama. */
export function showModel(view: ModelView): Record<string, unknown> {
  return {
    license: '', modelfile: '', parameters: '', template: '',
    details: details(view),
    model_info: { 'tokios.upstream_kind': view.upstreamKind ?? 'unknown', 'tokios.upstream_model': view.upstreamModel ?? '' },
    capabilities: ['completion'],
    modified_at: view.connectedSince ? new Date(view.connectedSince).toISOString() : NO_TIME,
  };
}
