import type { Logger } from '../logging/logger.js';
import type { CredentialKind, CredentialRecord, GatewayStore } from './gateway-store.js';
import { hashSecret } from './secrets.js';

/**
 * Turns a presented secret into its credential, on every request: a cache of recently
 * verified secrets (clients send the same few keys thousands of times a second, so most
 * requests skip the hash and the store), emptied whenever a credential is revoked anywhere
 * (`invalidate`). Records `last used` in memory and writes it in one batch every
 * `lastUsedFlushMs`, never once per request.
 */

export type Verification =
  | { ok: true; record: CredentialRecord }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

export interface VerifierOptions {
  log: Logger;
  now?: () => number;
  lastUsedFlushMs?: number;
}

interface Cached {
  record: CredentialRecord;
  /** Epoch ms, Infinity when it never expires (parsed once, not per request). */
  expiresAt: number;
}

const CACHE_LIMIT = 1024;

export class CredentialVerifier {
  private readonly cache = new Map<string, Cached>();
  private readonly lastUsed = new Map<string, number>();
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: GatewayStore,
    private readonly options: VerifierOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => void this.flush(), options.lastUsedFlushMs ?? 30_000);
    this.timer.unref();
  }

  /** The live credential of one of `kinds` behind `secret`, or why there is none. */
  async verify(secret: string, kinds: readonly CredentialKind[]): Promise<Verification> {
    let cached = this.cache.get(secret);
    if (!cached) {
      const record = await this.store.credentialByHash(hashSecret(secret));
      if (!record) return { ok: false, reason: 'unknown' };
      cached = { record, expiresAt: record.expires ? Date.parse(record.expires) : Infinity };
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(secret, cached);
    }
    const { record } = cached;
    if (!kinds.includes(record.kind)) return { ok: false, reason: 'unknown' };
    if (record.revoked) return { ok: false, reason: 'revoked' };
    const now = this.now();
    if (now >= cached.expiresAt) return { ok: false, reason: 'expired' };
    this.lastUsed.set(record.id, now);
    return { ok: true, record };
  }

  /** Forget every cached verification (a credential was revoked or changed somewhere). */
  invalidate(): void {
    this.cache.clear();
  }

  /** When this gateway last saw `id` used, if it has not written that yet. */
  pendingLastUsed(id: string): string | null {
    const at = this.lastUsed.get(id);
    return at === undefined ? null : new Date(at).toISOString();
  }

  /** Writes the `last used` times gathered since the last flush, in one store call. */
  flush(): Promise<void> {
    if (this.lastUsed.size === 0) return this.flushing;
    const batch = new Map([...this.lastUsed].map(([id, at]) => [id, new Date(at).toISOString()]));
    this.lastUsed.clear();
    this.flushing = this.flushing
      .then(() => this.store.touchCredentials(batch))
      .catch((error: Error) => this.options.log.warn(`could not record when credentials were last used: ${error.message}`));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
