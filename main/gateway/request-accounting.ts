import type { ServerResponse } from 'node:http';
import { UsageScanner } from '../tunnel/usage-scanner.js';
import type { LimitCounters } from './limit-counters.js';
import { hasLimits } from './limit-counters.js';
import type { Principal } from './request-auth.js';
import type { RequestLog } from './request-log.js';
import { dropUsageOnlyEvents } from './stream-usage.js';
import type { UsageMeter } from './usage-meter.js';

/**
 * What the data plane does per request besides routing it: the key's limits before the
 * request enters a tunnel (429 with OpenAI's headers, which also go on every answer), and
 * once the answer is over, its tokens (read from the usage the upstream reported, at the
 * end of the body) charged to the key's tokens-per-minute, counted in the usage meter and
 * written to the account's request log. All in memory: no store write per request.
 */

export interface AccountingOptions {
  counters: LimitCounters;
  meter: UsageMeter;
  requestLog: RequestLog;
}

export type Begin = { ok: true; ticket: RequestTicket } | { ok: false; status: 429 | 503; message: string; type: string; code: string; headers: Record<string, string> };

export class RequestAccounting {
  constructor(private readonly options: AccountingOptions) {}

  /** Checks the key's limits; a ticket counts the request from here until the response closes. */
  async begin(principal: Principal, method: string, path: string, res: ServerResponse): Promise<Begin> {
    const { credential } = principal;
    let release: (() => void) | null = null;
    let headers: Record<string, string> | null = null;
    if (hasLimits(credential.limits)) {
      const admission = await this.options.counters.admit(credential.id, credential.limits);
      if (!admission.ok) {
        // Over a limit: 429. Limits that cannot be checked (shared counters away, policy closed): 503.
        const status = admission.limit === 'unavailable' ? 503 : 429;
        this.finish(principal, method, path, '', status, null, performance.now(), null);
        const code = status === 503 ? 'limits_unavailable' : 'rate_limit_exceeded';
        return { ok: false, status, message: admission.message, type: status === 503 ? 'service_unavailable' : admission.limit, code, headers: status === 503 ? { ...admission.headers, 'retry-after': '1' } : admission.headers };
      }
      release = admission.release;
      headers = admission.headers;
    }
    const ticket = new RequestTicket(headers);
    const start = performance.now();
    res.once('close', () => {
      release?.();
      const usage = ticket.scanner.result();
      const tokens = { input: usage.promptTokens ?? 0, output: usage.completionTokens ?? 0 };
      if (credential.limits?.tpm !== undefined && tokens.input + tokens.output > 0) void this.options.counters.addTokens(credential.id, credential.limits, tokens.input + tokens.output);
      this.finish(principal, method, path, ticket.deployment, res.statusCode, ticket.firstByteAt, start, usage.promptTokens === null && usage.completionTokens === null ? null : tokens);
    });
    return { ok: true, ticket };
  }

  private finish(principal: Principal, method: string, path: string, deployment: string, status: number, firstByteAt: number | null, start: number, tokens: { input: number; output: number } | null): void {
    const end = performance.now();
    const ttftMs = firstByteAt === null ? null : firstByteAt - start;
    const durationMs = end - start;
    const { credential, accountId } = principal;
    this.options.meter.record({ accountId, keyId: credential.id, deployment, status, inputTokens: tokens?.input ?? 0, outputTokens: tokens?.output ?? 0, ttftMs, durationMs });
    this.options.requestLog.append(accountId, {
      at: Date.now(), key_id: credential.id, key_label: credential.label ?? null, deployment: deployment || null, method, path,
      status, ttft_ms: ttftMs === null ? null : round(ttftMs), duration_ms: round(durationMs), input_tokens: tokens?.input ?? null, output_tokens: tokens?.output ?? null,
    });
  }
}

/** One request's part of the accounting, fed by the data plane as the answer passes. */
export class RequestTicket {
  /** The deployment the body named, once read. */
  deployment = '';
  firstByteAt: number | null = null;
  /** Set when the gateway asked the upstream for usage the client did not ask for. */
  dropUsageEvents = false;
  readonly scanner = new UsageScanner();

  constructor(
    /** The `x-ratelimit-*` headers to add to the answer (null: the key has no limits). */
    readonly limitHeaders: Record<string, string> | null,
  ) {}

  /**
   * Sees an answer chunk on its way: `upstream` as the upstream sent it (its usage is read
   * from these bytes), `out` as the client will get it; returns what the client should get.
   */
  onChunk(upstream: Buffer, out: Buffer | string): Buffer | string {
    if (this.firstByteAt === null) this.firstByteAt = performance.now();
    this.scanner.push(upstream);
    return this.forClient(out);
  }

  /** What the client gets of `out`: without the usage events it did not ask for. */
  forClient(out: Buffer | string): Buffer | string {
    if (!this.dropUsageEvents || out.length === 0) return out;
    return dropUsageOnlyEvents(typeof out === 'string' ? Buffer.from(out) : out);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
