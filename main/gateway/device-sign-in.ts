import { TokiosError } from '../../shared/errors.js';
import type { AccountView, DeviceCodeResponse, DeviceTokenResponse } from '../../shared/hosted-api.js';

/**
 * The client side of the device grant (RFC 8628 §3.1–3.5), as `gh auth login` does it: ask
 * the gateway for a code pair, show the person the user code and the page to approve it,
 * poll at the interval the gateway asked for (slower on `slow_down`) until it answers with
 * a credential, a denial or an expiry. The first call is also the check that the URL is a
 * Tokios gateway: a wrong URL fails here, before anything else changes.
 */

export interface DeviceSignIn {
  userCode: string;
  /** The page to open, and the same with the code filled in. */
  verificationUri: string;
  verificationUriComplete: string;
  expiresAt: number;
  /** Resolves with the credential once approved; rejects when denied, expired or cancelled. */
  result: Promise<{ credential: string; account: AccountView }>;
  cancel(): void;
}

export interface DeviceSignInOptions {
  /** How the device shows up on the dashboard's Devices page. */
  clientName: string;
  timeoutMs?: number;
  /** Waits between polls (tests pass a fast one). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export async function startDeviceSignIn(gatewayUrl: string, options: DeviceSignInOptions): Promise<DeviceSignIn> {
  const base = gatewayUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const post = async (path: string, body: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> | null }> => {
    let response: Response;
    try {
      response = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      throw new TokiosError('GATEWAY_UNREACHABLE', `cannot reach the gateway at ${base}${code ? ` (${code})` : ''}: is the URL right?`);
    }
    let json: Record<string, unknown> | null = null;
    try {
      json = (await response.json()) as Record<string, unknown>;
    } catch {
      // judged below
    }
    return { status: response.status, json };
  };

  const started = await post('/v1/device/code', { client_name: options.clientName });
  const code = started.json as Partial<DeviceCodeResponse> | null;
  if (started.status !== 200 || typeof code?.device_code !== 'string' || typeof code.user_code !== 'string') {
    const message = (started.json as { error?: { message?: string } } | null)?.error?.message;
    throw new TokiosError('GATEWAY_ERROR', message ? `the gateway at ${base} refused to start a sign-in: ${message}` : `${base} does not offer a Tokios sign-in (is it a Tokios gateway, and a recent one?)`);
  }
  const controller = new AbortController();
  const sleep = options.sleep ?? defaultSleep;
  const expiresAt = Date.now() + (code.expires_in ?? 600) * 1000;
  let intervalMs = Math.max(1, code.interval ?? 5) * 1000;

  const result = (async (): Promise<{ credential: string; account: AccountView }> => {
    for (;;) {
      await sleep(intervalMs, controller.signal);
      if (controller.signal.aborted) throw new TokiosError('INVALID_ARGUMENT', 'the sign-in was cancelled');
      if (Date.now() >= expiresAt) throw new TokiosError('UNAUTHORIZED', 'the code expired before it was approved; start the sign-in again');
      const polled = await post('/v1/device/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: code.device_code! });
      if (polled.status === 200) {
        const token = polled.json as Partial<DeviceTokenResponse> | null;
        if (typeof token?.access_token !== 'string' || !token.account) throw new TokiosError('GATEWAY_ERROR', `the gateway at ${base} approved the sign-in but sent no credential`);
        return { credential: token.access_token, account: token.account };
      }
      const error = polled.json?.error;
      if (error === 'authorization_pending') continue;
      if (error === 'slow_down') {
        intervalMs += 5000;
        continue;
      }
      if (error === 'access_denied') throw new TokiosError('UNAUTHORIZED', 'the sign-in was denied on the dashboard');
      if (error === 'expired_token') throw new TokiosError('UNAUTHORIZED', 'the code expired before it was approved; start the sign-in again');
      throw new TokiosError('GATEWAY_ERROR', `the gateway at ${base} ended the sign-in: ${String(polled.json?.error_description ?? error ?? `HTTP ${polled.status}`)}`);
    }
  })();
  // Callers may drop the promise after cancelling; an unobserved rejection must not crash them.
  result.catch(() => undefined);

  return {
    userCode: code.user_code,
    verificationUri: code.verification_uri ?? `${base}/device`,
    verificationUriComplete: code.verification_uri_complete ?? `${base}/device?code=${code.user_code}`,
    expiresAt,
    result,
    cancel: () => controller.abort(),
  };
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
