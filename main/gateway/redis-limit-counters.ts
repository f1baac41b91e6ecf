import type { Redis } from 'ioredis';
import type { KeyLimits } from '../../shared/hosted-api.js';
import type { Logger } from '../logging/logger.js';
import { EPSILON, gcraAdmit, LocalLimitCounters, rateLimitHeaders, refuse, WINDOW_MS, type Admission, type LimitCounters } from './limit-counters.js';

/**
 * Per-key limits shared by every replica, in Redis: the same GCRA as LocalLimitCounters,
 * run inside one Lua script per request, so the check and the update are atomic and a key
 * limited to N requests a minute gets N across all replicas, not N per replica. The clock is
 * Redis's own (TIME), so replicas whose clocks differ still agree.
 *
 * Requests in flight are counted per replica (one hash field each): a replica that dies
 * without releasing its slots stops counting once its liveness key expires, and after Redis
 * comes back every replica writes its true counts again (`resync`).
 *
 * When Redis cannot be reached, `whenDown` decides: `open` lets requests through, each
 * replica counting on its own meanwhile (so a key may get up to N per replica); `closed`
 * refuses requests of limited keys with 503. Keys without limits never touch Redis.
 */

export type LimitsWhenDown = 'open' | 'closed';

export interface RedisLimitCountersOptions {
  redis: Redis;
  /** This replica: its in-flight counts live under its id. */
  replicaId: string;
  /** Prefix of the replicas' liveness keys (`<prefix><replicaId>` exists while it is alive). */
  alivePrefix: string;
  whenDown: LimitsWhenDown;
  log: Logger;
}

const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local rpm, tpm, par = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, eps = tonumber(ARGV[6]), tonumber(ARGV[7])
local rtat = tonumber(redis.call('HGET', KEYS[1], 'r') or now)
local ttat = tonumber(redis.call('HGET', KEYS[1], 't') or now)
local inflight = 0
if par > 0 then
  local counts = redis.call('HGETALL', KEYS[2])
  for i = 1, #counts, 2 do
    if redis.call('EXISTS', ARGV[5] .. counts[i]) == 1 then inflight = inflight + tonumber(counts[i + 1])
    else redis.call('HDEL', KEYS[2], counts[i]) end
  end
end
local function answer(ok) return { ok, string.format('%.17g', now), string.format('%.17g', rtat), string.format('%.17g', ttat), tostring(inflight) } end
if par > 0 and inflight >= par then return answer(0) end
if tpm > 0 then
  local cost = window / tpm
  if math.max(ttat, now) - now > window - cost + eps then return answer(0) end
end
if rpm > 0 then
  local nxt = math.max(rtat, now) + window / rpm
  if nxt - now > window + eps then return answer(0) end
  redis.call('HSET', KEYS[1], 'r', string.format('%.17g', nxt))
end
if par > 0 then redis.call('HINCRBY', KEYS[2], ARGV[4], 1) end
redis.call('PEXPIRE', KEYS[1], 2 * window)
return answer(1)
`;

const ADD_TOKENS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local ttat = tonumber(redis.call('HGET', KEYS[1], 't') or now)
redis.call('HSET', KEYS[1], 't', string.format('%.17g', math.max(ttat, now) + tonumber(ARGV[1])))
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[2]))
return 1
`;

type RedisWithScripts = Redis & {
  tokiosAdmit(state: string, parallel: string, ...args: Array<string | number>): Promise<[number, string, string, string, string]>;
  tokiosAddTokens(state: string, ...args: Array<string | number>): Promise<number>;
};

export class RedisLimitCounters implements LimitCounters {
  private readonly redis: RedisWithScripts;
  /** What this replica counts alone while Redis is away (policy `open`). */
  private readonly fallback = new LocalLimitCounters();
  /** Slots this replica holds in Redis, per key: written back after an outage. */
  private readonly held = new Map<string, number>();
  private down = false;

  constructor(private readonly options: RedisLimitCountersOptions) {
    this.redis = options.redis as RedisWithScripts;
    this.redis.defineCommand('tokiosAdmit', { numberOfKeys: 2, lua: ADMIT });
    this.redis.defineCommand('tokiosAddTokens', { numberOfKeys: 1, lua: ADD_TOKENS });
  }

  async admit(keyId: string, limits: KeyLimits): Promise<Admission> {
    let reply: [number, string, string, string, string];
    try {
      reply = await this.redis.tokiosAdmit(stateKey(keyId), parallelKey(keyId), limits.rpm ?? 0, limits.tpm ?? 0, limits.parallel ?? 0, this.options.replicaId, this.options.alivePrefix, WINDOW_MS, EPSILON);
    } catch (error) {
      return this.whileDown(keyId, limits, error as Error);
    }
    this.back();
    const [admitted, now, requestsTat, tokensTat, inFlight] = [reply[0], Number(reply[1]), Number(reply[2]), Number(reply[3]), Number(reply[4])];
    const decision = gcraAdmit(limits, now, requestsTat, tokensTat, inFlight);
    if (!admitted) return decision.ok ? refuse('requests', 1000, 'Rate limit reached on this API key; retry shortly.', {}) : decision.refusal;
    const headers = rateLimitHeaders(limits, now, decision.ok ? decision.requestsTat : requestsTat, tokensTat);
    if (limits.parallel === undefined) return { ok: true, headers, release: () => undefined };
    this.held.set(keyId, (this.held.get(keyId) ?? 0) + 1);
    let released = false;
    return {
      ok: true,
      headers,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.held.get(keyId) ?? 1) - 1;
        if (left > 0) this.held.set(keyId, left);
        else this.held.delete(keyId);
        // Lost while Redis is away: resync() writes the true count once it is back.
        this.redis.hincrby(parallelKey(keyId), this.options.replicaId, -1).catch(() => undefined);
      },
    };
  }

  async addTokens(keyId: string, limits: KeyLimits, tokens: number): Promise<void> {
    if (limits.tpm === undefined || !(tokens > 0)) return;
    try {
      await this.redis.tokiosAddTokens(stateKey(keyId), tokens * (WINDOW_MS / limits.tpm), WINDOW_MS);
    } catch {
      this.fallback.addTokens(keyId, limits, tokens);
    }
  }

  /** After Redis came back (a restart forgets everything): this replica's true in-flight counts. */
  async resync(): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const [keyId, count] of this.held) pipeline.hset(parallelKey(keyId), this.options.replicaId, count);
    await pipeline.exec().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.fallback.close();
  }

  private whileDown(keyId: string, limits: KeyLimits, error: Error): Admission | Promise<Admission> {
    if (!this.down) {
      this.down = true;
      this.options.log.warn(`cannot reach Redis for limits (${error.message}); limits are ${this.options.whenDown === 'open' ? 'kept by each replica alone' : 'refusing requests of limited keys'} until it is back (--limits-when-redis-down ${this.options.whenDown})`);
    }
    if (this.options.whenDown === 'open') return this.fallback.admit(keyId, limits);
    return refuse('unavailable', 1000, "This API key's limits cannot be checked right now (the gateway's Redis is unreachable), so the request was not admitted; retry shortly.", {});
  }

  private back(): void {
    if (!this.down) return;
    this.down = false;
    this.options.log.info('Redis is back: limits are shared by every replica again');
  }
}

function stateKey(keyId: string): string {
  return `tokios:limit:${keyId}`;
}

function parallelKey(keyId: string): string {
  return `tokios:parallel:${keyId}`;
}
