import { randomInt } from 'node:crypto';
import type { DeviceGrantView } from '../../shared/hosted-api.js';
import { hashSecret, mintSecret } from './secrets.js';

/**
 * The device authorization grant (RFC 8628, as `gh auth login` uses it): the desktop app
 * asks for a code pair, shows the person the short user code and the dashboard's device
 * page, and polls with the long device code until the person, signed in to the dashboard,
 * approves (or denies) it. Pending grants live ten minutes, in memory: a grant is a moment
 * of one person's attention, and one gateway hands out and redeems its own codes. (With
 * replicas the same state moves to the shared fast store.)
 *
 * The credential is minted only when the app picks it up, once; the grant is gone then.
 */

/** Letters that cannot be misread for one another, as in RFC 8628 §6.1. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const DEVICE_GRANT_TTL_MS = 10 * 60_000;
export const DEVICE_POLL_INTERVAL_MS = 5000;
const MAX_PENDING = 10_000;

export interface DeviceGrant {
  deviceCodeHash: string;
  userCode: string;
  clientName: string;
  expiresAt: number;
  intervalMs: number;
  lastPollAt: number;
  status: 'pending' | 'approved' | 'denied';
  accountId: string | null;
}

export type PollResult =
  | { ok: true; accountId: string; clientName: string }
  | { ok: false; error: 'authorization_pending' | 'slow_down' | 'access_denied' | 'expired_token' | 'invalid_grant' };

export class DeviceGrants {
  private readonly byDevice = new Map<string, DeviceGrant>();
  private readonly byUser = new Map<string, DeviceGrant>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new grant: the device code (for the app only) and the user code (for the person). */
  start(clientName: string): { deviceCode: string; grant: DeviceGrant } | null {
    this.prune();
    if (this.byDevice.size >= MAX_PENDING) return null;
    const deviceCode = mintSecret('device-code');
    let userCode: string;
    do userCode = `${pick(4)}-${pick(4)}`;
    while (this.byUser.has(userCode));
    const now = this.now();
    const grant: DeviceGrant = { deviceCodeHash: hashSecret(deviceCode), userCode, clientName, expiresAt: now + DEVICE_GRANT_TTL_MS, intervalMs: DEVICE_POLL_INTERVAL_MS, lastPollAt: 0, status: 'pending', accountId: null };
    this.byDevice.set(grant.deviceCodeHash, grant);
    this.byUser.set(userCode, grant);
    return { deviceCode, grant };
  }

  /** What the dashboard shows before the person decides; null for an unknown or expired code. */
  view(userCode: string): DeviceGrantView | null {
    const grant = this.live(normalizeUserCode(userCode));
    return grant ? { user_code: grant.userCode, client_name: grant.clientName, expires: new Date(grant.expiresAt).toISOString(), status: grant.status } : null;
  }

  /** The signed-in person's decision. False when the code is unknown, expired or decided. */
  decide(userCode: string, accountId: string, approve: boolean): boolean {
    const grant = this.live(normalizeUserCode(userCode));
    if (!grant || grant.status !== 'pending') return false;
    grant.status = approve ? 'approved' : 'denied';
    grant.accountId = accountId;
    return true;
  }

  /** The app's poll (RFC 8628 §3.4–3.5). An approved grant is handed out once. */
  poll(deviceCode: string): PollResult {
    const hash = hashSecret(deviceCode);
    const grant = this.byDevice.get(hash);
    if (!grant) return { ok: false, error: 'invalid_grant' };
    const now = this.now();
    if (now >= grant.expiresAt) {
      this.remove(grant);
      return { ok: false, error: 'expired_token' };
    }
    if (grant.status === 'denied') {
      this.remove(grant);
      return { ok: false, error: 'access_denied' };
    }
    if (grant.status === 'approved') {
      this.remove(grant);
      return { ok: true, accountId: grant.accountId!, clientName: grant.clientName };
    }
    const early = now - grant.lastPollAt < grant.intervalMs;
    grant.lastPollAt = now;
    if (early) {
      grant.intervalMs += 5000;
      return { ok: false, error: 'slow_down' };
    }
    return { ok: false, error: 'authorization_pending' };
  }

  private live(userCode: string): DeviceGrant | null {
    const grant = this.byUser.get(userCode);
    // An expired grant stays until the app's next poll, which then hears `expired_token`.
    return grant && this.now() < grant.expiresAt ? grant : null;
  }

  private remove(grant: DeviceGrant): void {
    this.byDevice.delete(grant.deviceCodeHash);
    this.byUser.delete(grant.userCode);
  }

  private prune(): void {
    const now = this.now();
    for (const grant of this.byDevice.values()) if (now >= grant.expiresAt) this.remove(grant);
  }
}

function pick(count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return out;
}

/** People type codes in any case, with or without the dash. */
export function normalizeUserCode(text: string): string {
  const letters = text.toUpperCase().replace(/[^A-Z]/g, '');
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : text;
}
