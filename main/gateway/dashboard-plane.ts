import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTokiosError, TokiosError } from '../../shared/errors.js';
import { DASHBOARD_API, SESSION_COOKIE, type DeviceCodeResponse, type DeviceTokenResponse, type SessionView } from '../../shared/hosted-api.js';
import type { Logger } from '../logging/logger.js';
import type { AccountAdmin } from './account-admin.js';
import type { ClientAddress } from './client-address.js';
import { DEVICE_GRANT_TTL_MS, type DeviceGrants } from './device-grants.js';
import { sendFailure } from './error-response.js';
import { IMPLICIT_ACCOUNT_ID, type AccountRecord, type GatewayStore } from './gateway-store.js';
import { sendError, sendJson } from './http-util.js';
import type { InvalidationBus } from './invalidation-bus.js';
import { optionalString, readJsonObject } from './json-body.js';
import type { LimitCounters } from './limit-counters.js';
import { hashPassword, passwordProblem, verifyAgainstDecoy, verifyPassword } from './passwords.js';
import { csrfTokenFor, sessionSecret, type RequestAuth } from './request-auth.js';
import { hashSecret, mintSecret, newId } from './secrets.js';
import type { SignInThrottle } from './sign-in-throttle.js';

/**
 * The web dashboard, served by the gateway on its own origin:
 *
 *   GET  /, /device, /assets/*           the dashboard page (built from renderer/, for browsers)
 *   GET  /dashboard/api/config           {signup}
 *   GET  /dashboard/api/session          who is signed in, and the CSRF token
 *   POST /dashboard/api/sign-in|sign-up  {email, password}: a session cookie
 *   POST /dashboard/api/sign-out
 *   GET  /dashboard/api/device?code=     a device waiting for approval
 *   POST /dashboard/api/device           {user_code, approve}
 *   POST /v1/device/code, /v1/device/token   the device grant (RFC 8628) the desktop app uses
 *
 * Everything else the dashboard shows comes from the control API, with the session cookie
 * and the CSRF token instead of an admin key. Sessions are HttpOnly, SameSite=Strict
 * cookies (Secure over HTTPS); dashboard POSTs must be JSON from this origin; wrong
 * passwords and unknown emails get the same answer in the same time, and repeated
 * failures are throttled (sign-in-throttle.ts): per email and address, per address, and (slowing, never locking) per email.
 */

export interface DashboardOptions {
  store: GatewayStore;
  auth: RequestAuth;
  admin: AccountAdmin;
  grants: DeviceGrants;
  throttle: SignInThrottle;
  counters: LimitCounters;
  clientAddress: ClientAddress;
  bus: InvalidationBus;
  log: Logger;
  now: () => number;
  sessionTtlMs: number;
  signup: boolean;
  /** The built dashboard (dashboard.html and assets/); found next to the code by default. */
  assetsDir?: string;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2' };
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
const PAGES = new Set(['/', '/device']);
const API_ROUTES = new Set(['config', 'session', 'sign-in', 'sign-up', 'sign-out', 'device']);

export class DashboardPlane {
  private readonly assetsDir: string;

  constructor(private readonly options: DashboardOptions) {
    this.assetsDir = resolve(options.assetsDir ?? defaultAssetsDir());
  }

  /** Pages only for browsers (`Accept: text/html`): curl on `/` still gets the plain text. */
  handles(req: IncomingMessage, method: string, pathname: string): boolean {
    if (pathname.startsWith(`${DASHBOARD_API}/`)) return API_ROUTES.has(pathname.slice(DASHBOARD_API.length + 1));
    if (pathname === '/v1/device/code' || pathname === '/v1/device/token') return method === 'POST';
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (pathname.startsWith('/assets/')) return true;
    return PAGES.has(pathname) && String(req.headers.accept ?? '').includes('text/html');
  }

  async handle(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    try {
      if (pathname === '/v1/device/code') return await this.deviceCode(req, res);
      if (pathname === '/v1/device/token') return await this.deviceToken(req, res);
      if (pathname.startsWith(`${DASHBOARD_API}/`)) return await this.api(req, res, pathname.slice(DASHBOARD_API.length + 1));
      this.serveFile(res, pathname.startsWith('/assets/') ? pathname : '/dashboard.html', req.method === 'HEAD');
    } catch (error) {
      sendFailure(res, error, this.options.log, `dashboard ${req.method} ${pathname}`);
    }
  }

  // ---- the dashboard's own API ---------------------------------------------------------

  private async api(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (route === 'config' && method === 'GET') return sendJson(res, 200, { signup: this.options.signup }, { 'cache-control': 'no-store' });
    if (route === 'session' && method === 'GET') return this.session(req, res);
    if (method === 'POST' && !this.fromThisOrigin(req)) {
      return sendError(res, 403, 'Dashboard requests must be JSON sent by the dashboard page itself.', 'permission_error', 'cross_origin_refused');
    }
    if (route === 'sign-in' && method === 'POST') return this.signIn(req, res, false);
    if (route === 'sign-up' && method === 'POST') return this.signIn(req, res, true);
    const auth = await this.options.auth.session(req);
    if (!auth.ok) return sendError(res, auth.status, auth.message, auth.type, auth.code);
    const { principal } = auth;
    if (route === 'sign-out' && method === 'POST') {
      await this.endSession(principal.accountId, principal.credential.id);
      res.writeHead(204, { 'set-cookie': this.cookie(req, '', 0) }).end();
      return;
    }
    if (route === 'device' && method === 'GET') {
      const code = new URL(req.url ?? '/', 'http://x').searchParams.get('code') ?? '';
      const view = this.options.grants.view(code);
      if (!view) return sendError(res, 404, 'No device is waiting with that code (it may have expired: start the sign-in again in the app).', 'invalid_request_error', 'unknown_user_code');
      return sendJson(res, 200, view);
    }
    if (route === 'device' && method === 'POST') {
      const body = await readJsonObject(req);
      const code = optionalString(body, 'user_code') ?? '';
      if (!this.options.grants.decide(code, principal.accountId, body.approve === true)) {
        return sendError(res, 404, 'No device is waiting with that code (it may have expired or been decided already).', 'invalid_request_error', 'unknown_user_code');
      }
      this.options.log.info(`device sign-in ${body.approve === true ? 'approved' : 'denied'} for account ${principal.accountId}`);
      return sendJson(res, 200, this.options.grants.view(code) ?? { status: body.approve === true ? 'approved' : 'denied' });
    }
    sendError(res, 405, `${method} is not allowed on ${DASHBOARD_API}/${route}.`, 'invalid_request_error', 'method_not_allowed');
  }

  private async session(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const secret = sessionSecret(req);
    const auth = await this.options.auth.session(req, secret, false);
    if (!auth.ok || !secret) return sendError(res, 401, 'Not signed in.', 'authentication_error', 'not_signed_in', { 'cache-control': 'no-store' });
    const account = await this.options.store.findAccount(auth.principal.accountId);
    const view: SessionView = { account: { id: auth.principal.accountId, email: account?.email ?? null }, csrfToken: csrfTokenFor(secret), expires: auth.principal.credential.expires!, signup: this.options.signup };
    sendJson(res, 200, view, { 'cache-control': 'no-store' });
  }

  private async signIn(req: IncomingMessage, res: ServerResponse, signUp: boolean): Promise<void> {
    const { store, throttle, clientAddress, log } = this.options;
    const body = await readJsonObject(req, 8 * 1024);
    const email = (optionalString(body, 'email') ?? '').trim();
    const password = optionalString(body, 'password') ?? '';
    const address = clientAddress.of(req);
    if (!email || !password) return sendError(res, 400, 'Enter your email and password.', 'invalid_request_error', 'missing_credentials');
    const wait = throttle.waitMs(email, address);
    if (wait > 0) {
      const [count, unit] = wait < 60_000 ? [Math.ceil(wait / 1000), 'second'] : [Math.ceil(wait / 60_000), 'minute'];
      return sendError(res, 429, `Too many failed sign-ins. Try again in ${count} ${unit}${count === 1 ? '' : 's'}.`, 'rate_limit_error', 'sign_in_throttled', { 'retry-after': String(Math.ceil(wait / 1000)) });
    }
    let account: AccountRecord | null;
    if (signUp) {
      if (!this.options.signup) return sendError(res, 403, 'Sign-up is closed on this gateway: ask its operator for an account.', 'permission_error', 'signup_closed');
      if (!/^[^\s@]+@[^\s@]+$/.test(email)) return sendError(res, 400, 'Enter a valid email address.', 'invalid_request_error', 'invalid_email');
      const problem = passwordProblem(password);
      if (problem) return sendError(res, 400, `The password ${problem}.`, 'invalid_request_error', 'weak_password');
      try {
        account = await store.createAccount({ email, passwordHash: await hashPassword(password) });
      } catch (error) {
        // Counted like a failed sign-in, so sign-up cannot be used to test many emails quickly.
        if (!isTokiosError(error) || error.code !== 'CONFLICT') throw error;
        throttle.failed(email, address);
        return sendError(res, 409, 'Could not sign up with that email. If it has an account, sign in instead.', 'invalid_request_error', 'signup_failed');
      }
      log.info(`account ${account.id} signed up`);
    } else {
      account = await store.findAccount(email);
      if (account?.email?.toLowerCase() !== email.toLowerCase()) account = null;
      const ok = account?.passwordHash ? await verifyPassword(password, account.passwordHash) : await verifyAgainstDecoy(password);
      if (!ok) {
        throttle.failed(email, address);
        return sendError(res, 401, 'Wrong email or password.', 'authentication_error', 'sign_in_failed');
      }
      throttle.succeeded(email, address);
    }
    const secret = mintSecret('session');
    const now = this.options.now();
    const expires = new Date(now + this.options.sessionTtlMs).toISOString();
    await store.addCredential({ id: newId('ses'), kind: 'session', accountId: account!.id, hash: hashSecret(secret), created: new Date(now).toISOString(), expires });
    const view: SessionView = { account: { id: account!.id, email: account!.email }, csrfToken: csrfTokenFor(secret), expires, signup: this.options.signup };
    sendJson(res, signUp ? 201 : 200, view, { 'set-cookie': this.cookie(req, secret, this.options.sessionTtlMs), 'cache-control': 'no-store' });
  }

  private async endSession(accountId: string, id: string): Promise<void> {
    const revoked = await this.options.store.revokeCredential(accountId, id, new Date(this.options.now()).toISOString());
    if (revoked) this.options.bus.publish({ type: 'credential-revoked', id, kind: 'session', accountId });
  }

  private cookie(req: IncomingMessage, value: string, maxAgeMs: number): string {
    const secure = this.options.clientAddress.secure(req) ? '; Secure' : '';
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(maxAgeMs / 1000)}${secure}`;
  }

  /**
   * A cross-site page can post a form (no preflight) but not JSON; and a browser names the
   * page's origin. Both must say "this origin".
   */
  private fromThisOrigin(req: IncomingMessage): boolean {
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  // ---- the device grant ----------------------------------------------------------------

  private async deviceCode(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const admission = await this.options.counters.admit(`device-code:${this.options.clientAddress.of(req)}`, { rpm: 10 });
    if (!admission.ok) return sendError(res, 429, 'Too many sign-in attempts from this address; wait a minute.', 'rate_limit_error', 'slow_down', { 'retry-after': admission.headers['retry-after'] ?? '60' });
    admission.release();
    const body = await readJsonObject(req, 8 * 1024);
    // Shown to the person who approves: printable text only, short.
    const clientName = [...(optionalString(body, 'client_name') ?? '')].filter((c) => c >= ' ' && c !== '\u007f').join('').trim().slice(0, 80) || 'a device';
    const started = this.options.grants.start(clientName);
    if (!started) return sendError(res, 503, 'Too many sign-ins are waiting; try again in a few minutes.', 'service_unavailable', 'busy');
    const base = `${this.options.clientAddress.secure(req) ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
    const answer: DeviceCodeResponse = {
      device_code: started.deviceCode, user_code: started.grant.userCode,
      verification_uri: `${base}/device`, verification_uri_complete: `${base}/device?code=${started.grant.userCode}`,
      expires_in: DEVICE_GRANT_TTL_MS / 1000, interval: started.grant.intervalMs / 1000,
    };
    sendJson(res, 200, answer, { 'cache-control': 'no-store' });
  }

  private async deviceToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJsonObject(req, 8 * 1024);
    const grantType = optionalString(body, 'grant_type');
    if (grantType !== undefined && grantType !== 'urn:ietf:params:oauth:grant-type:device_code') {
      return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'Only the device code grant is supported here.' });
    }
    const result = this.options.grants.poll(optionalString(body, 'device_code') ?? '');
    if (!result.ok) return sendJson(res, 400, { error: result.error, error_description: DEVICE_ERRORS[result.error] }, { 'cache-control': 'no-store' });
    const account = await this.options.store.findAccount(result.accountId);
    if (!account) throw new TokiosError('NOT_FOUND', 'the account that approved this device no longer exists');
    const created = await this.options.admin.createKey(account.id, { scope: 'admin', label: result.clientName }, { device: true });
    this.options.log.info(`device '${result.clientName}' signed in to account ${account.id === IMPLICIT_ACCOUNT_ID ? '(implicit)' : account.id} as ${created.id}`);
    const answer: DeviceTokenResponse = { access_token: created.key!, token_type: 'bearer', scope: 'admin', account: { id: account.id, email: account.email } };
    sendJson(res, 200, answer, { 'cache-control': 'no-store' });
  }

  // ---- files ---------------------------------------------------------------------------

  private serveFile(res: ServerResponse, path: string, headOnly: boolean): void {
    const file = resolve(join(this.assetsDir, path));
    if (!file.startsWith(this.assetsDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      if (path === '/dashboard.html') return sendError(res, 503, 'The dashboard is not built: run `npm run build`.', 'service_unavailable', 'dashboard_not_built');
      return sendError(res, 404, `No such file: ${path.slice(0, 100)}`, 'invalid_request_error', 'not_found');
    }
    const page = path === '/dashboard.html';
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      // Asset names carry a content hash: cache them for good; the page itself, never.
      'cache-control': page ? 'no-store' : 'public, max-age=31536000, immutable',
      ...(page ? PAGE_HEADERS : { 'x-content-type-options': 'nosniff' }),
    });
    if (headOnly) return void res.end();
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  }
}

const DEVICE_ERRORS: Record<string, string> = {
  authorization_pending: 'Waiting for the person to approve the code on the dashboard.',
  slow_down: 'Polling too often: wait the interval (now 5 s longer).',
  access_denied: 'The sign-in was denied on the dashboard.',
  expired_token: 'The code expired; start the sign-in again.',
  invalid_grant: 'Unknown device code (already used, or never issued).',
};

/** dist/renderer when running from dist/, or the repository's dist/renderer from sources. */
function defaultAssetsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [resolve(here, '../../renderer'), resolve(here, '../../dist/renderer')];
  return candidates.find((dir) => existsSync(join(dir, 'dashboard.html')) && existsSync(join(dir, 'assets'))) ?? candidates[1]!;
}
