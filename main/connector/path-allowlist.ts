import { INFERENCE_ROUTES } from '../../shared/tunnel-protocol.js';

/**
 * The connector's last line of defence: only the inference endpoints (docs/ARCHITECTURE.md
 * §3), matched byte for byte. Nothing is decoded or normalised first, so `%2e%2e`, `%2F`, `\`, `//`,
 * `..`, mixed case and absolute URIs simply fail to match — there is no second
 * interpretation for an attacker to aim at. Model management (`/api/pull`, `/api/delete`,
 * `/api/create`, `/api/copy`, `/api/push`) is never on the list.
 */

export type TargetCheck = { ok: true; pathname: string; path: string; routedByModel: boolean } | { ok: false; reason: string };

const ALLOWED = new Map(INFERENCE_ROUTES.map((r) => [`${r.method} ${r.path}`, r]));
/** Query strings pass through (Claude Code sends `?beta=true`), but only plain characters. */
const SAFE_QUERY = /^[A-Za-z0-9._~=&,+%-]*$/;

export function checkRequestTarget(method: string, target: string): TargetCheck {
  const q = target.indexOf('?');
  const pathname = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? '' : target.slice(q + 1);
  const route = ALLOWED.get(`${method} ${pathname}`);
  if (!route) return { ok: false, reason: `${method} ${pathname.slice(0, 200)} is not an inference endpoint this connector forwards` };
  if (!SAFE_QUERY.test(query)) return { ok: false, reason: 'query string has characters this connector does not forward' };
  return { ok: true, pathname, path: query ? `${pathname}?${query}` : pathname, routedByModel: route.routedByModel };
}
