import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isTokiosError } from '../../shared/errors.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../../shared/hosted-api.js';
import { TUNNEL_TOKEN_PREFIX } from '../../shared/names.js';
import type { CredentialVerifier } from './credential-verifier.js';
import type { CredentialRecord } from './gateway-store.js';
import { presentedKey } from './http-util.js';

/**
 * Who is calling: an API key (`Authorization: Bearer` or `x-api-key`) for the data plane;
 * an admin API key, or a dashboard session (HttpOnly cookie) together with its CSRF token
 * (header `x-csrf-token`), for the control plane. A client-scoped key on the control
 * plane is refused with 403 naming the scope it lacks.
 */

export interface Principal {
  accountId: string;
  /** The API key or session that authenticated the request. */
  credential: CredentialRecord;
  via: 'key' | 'session';
}

export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; status: 401 | 403 | 503; message: string; type: string; code: string };

/** A key this gateway has not verified before, while its database is away: it cannot say yes or no. */
const UNCHECKABLE: Extract<AuthOutcome, { ok: false }> = {
  ok: false, status: 503, type: 'service_unavailable', code: 'store_unavailable',
  message: "This API key cannot be checked right now: the gateway's database is unreachable and this gateway has not seen the key before. Retry in a moment.",
};

const REFUSED: Record<'missing' | 'unknown' | 'tunnel-token' | 'revoked' | 'expired', Extract<AuthOutcome, { ok: false }>> = {
  missing: { ok: false, status: 401, type: 'authentication_error', code: 'missing_api_key', message: 'Missing API key: send "Authorization: Bearer sk-tokios-…" (or "x-api-key: sk-tokios-…").' },
  unknown: { ok: false, status: 401, type: 'authentication_error', code: 'invalid_api_key', message: 'Invalid API key: this gateway does not know it. Create one with `tokios key create --data DIR`.' },
  // A tunnel token where an API key belongs: the usual mix-up of the two secrets a setup prints.
  'tunnel-token': { ok: false, status: 401, type: 'authentication_error', code: 'invalid_api_key', message: 'This is a tunnel token (tt-…): connectors use it to open their tunnel. Clients need an API key (sk-tokios-…): create one with `tokios key create`, or on the dashboard.' },
  revoked: { ok: false, status: 401, type: 'authentication_error', code: 'api_key_revoked', message: 'This API key was revoked. Create another with `tokios key create`, or on the dashboard.' },
  expired: { ok: false, status: 401, type: 'authentication_error', code: 'api_key_expired', message: 'This API key has expired. Create another with `tokios key create`, or on the dashboard.' },
};

export class RequestAuth {
  constructor(private readonly verifier: CredentialVerifier) {}

  /** Any live API key of any scope (the data plane). */
  async apiKey(req: IncomingMessage): Promise<AuthOutcome> {
    const secret = presentedKey(req);
    if (!secret) return REFUSED.missing;
    let verified;
    try {
      verified = await this.verifier.verify(secret, ['api-key']);
    } catch (error) {
      if (isTokiosError(error) && error.code === 'STORE_UNAVAILABLE') return UNCHECKABLE;
      throw error;
    }
    if (!verified.ok) return REFUSED[verified.reason === 'unknown' && secret.startsWith(TUNNEL_TOKEN_PREFIX) ? 'tunnel-token' : verified.reason];
    return { ok: true, principal: { accountId: verified.record.accountId, credential: verified.record, via: 'key' } };
  }

  /** An admin API key, or a dashboard session with its CSRF token (the control plane). */
  async admin(req: IncomingMessage): Promise<AuthOutcome> {
    const session = sessionSecret(req);
    if (session && !presentedKey(req)) return this.session(req, session);
    const outcome = await this.apiKey(req);
    if (!outcome.ok) return outcome;
    if (outcome.principal.credential.scope !== 'admin') {
      return { ok: false, status: 403, type: 'permission_error', code: 'insufficient_scope', message: `This API key has scope 'client' (the data plane only); this call needs scope 'admin'. Use an admin key (tokios key create --scope admin) or the dashboard.` };
    }
    return outcome;
  }

  /**
   * The signed-in dashboard session, checking its CSRF token — except when the page asks
   * who is signed in (`checkCsrf: false`), which is how it learns the token.
   */
  async session(req: IncomingMessage, secret = sessionSecret(req), checkCsrf = true): Promise<AuthOutcome> {
    const signedOut: AuthOutcome = { ok: false, status: 401, type: 'authentication_error', code: 'not_signed_in', message: 'Not signed in, or the session has ended; sign in again.' };
    if (!secret) return signedOut;
    const verified = await this.verifier.verify(secret, ['session']);
    if (!verified.ok) return signedOut;
    const presented = req.headers[CSRF_HEADER];
    if (checkCsrf && (typeof presented !== 'string' || !sameSecret(presented, csrfTokenFor(secret)))) {
      return { ok: false, status: 403, type: 'permission_error', code: 'csrf_token_invalid', message: `Missing or wrong ${CSRF_HEADER} header: reload the dashboard.` };
    }
    return { ok: true, principal: { accountId: verified.record.accountId, credential: verified.record, via: 'session' } };
  }
}

/**
 * The CSRF token of a session: derived from the session secret (so nothing more is stored),
 * one-way (it reveals nothing of the cookie), and readable only by a page of this origin,
 * which gets it from the session endpoint.
 */
export function csrfTokenFor(sessionSecret: string): string {
  return createHash('sha256').update(`csrf\u0000${sessionSecret}`).digest('base64url');
}

export function sessionSecret(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}
