import type { RequestLogEntry } from '../../shared/hosted-api.js';

/**
 * The request log each account sees on its dashboard: metadata only (time, key, deployment,
 * path, status, timings, tokens), never a body or a header value. A bounded ring per
 * account, newest last; a busy account overwrites its own oldest lines, never another's.
 */

/** An entry as kept: the time as epoch ms, turned into ISO text only when someone reads it. */
export type LoggedRequest = Omit<RequestLogEntry, 'time'> & { at: number };

export interface RequestLog {
  append(accountId: string, entry: LoggedRequest): void;
  /** Newest first, at most `limit`. */
  recent(accountId: string, limit: number): RequestLogEntry[];
}

export class MemoryRequestLog implements RequestLog {
  private readonly rings = new Map<string, { entries: LoggedRequest[]; next: number }>();

  constructor(readonly perAccount = 1000) {}

  append(accountId: string, entry: LoggedRequest): void {
    let ring = this.rings.get(accountId);
    if (!ring) this.rings.set(accountId, (ring = { entries: [], next: 0 }));
    if (ring.entries.length < this.perAccount) ring.entries.push(entry);
    else ring.entries[ring.next] = entry;
    ring.next = (ring.next + 1) % this.perAccount;
  }

  recent(accountId: string, limit: number): RequestLogEntry[] {
    const ring = this.rings.get(accountId);
    if (!ring) return [];
    const ordered = ring.entries.length < this.perAccount ? ring.entries : [...ring.entries.slice(ring.next), ...ring.entries.slice(0, ring.next)];
    return ordered.slice(-Math.max(0, limit)).reverse().map(({ at, ...rest }) => ({ time: new Date(at).toISOString(), ...rest }));
  }
}
