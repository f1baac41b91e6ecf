import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { AccountAdmin } from '../main/gateway/account-admin.js';
import { CredentialVerifier } from '../main/gateway/credential-verifier.js';
import { FileGatewayStore } from '../main/gateway/file-store.js';
import { IMPLICIT_ACCOUNT_ID } from '../main/gateway/gateway-store.js';
import { LocalLimitCounters } from '../main/gateway/limit-counters.js';
import { RequestAccounting } from '../main/gateway/request-accounting.js';
import { RequestAuth } from '../main/gateway/request-auth.js';
import { MemoryRequestLog } from '../main/gateway/request-log.js';
import { UsageMeter } from '../main/gateway/usage-meter.js';
import { Logger } from '../main/logging/logger.js';
import { tempDir } from '../e2e/support/processes.js';

/**
 * What accounts, limits and usage add to each request on the gateway, measured in this
 * process on CPU time (so other processes on a busy machine do not move it): the real
 * verifier, limit counters, usage meter, request log and accounting, as the data plane
 * calls them for one request with a 1 KB answer that reports usage. Next to it, what the
 * gateway did per request before accounts: one lookup of a remembered key.
 */

export interface AccountingCost {
  /** CPU µs per request: the lookup the gateway did before accounts existed. */
  beforeUs: number;
  /** CPU µs per request with a key without limits: verify, usage, request log. */
  unlimitedUs: number;
  /** The same with a key that has rpm, tpm and parallel limits. */
  limitedUs: number;
}

const ANSWER = Buffer.from(`data: {"choices":[{"delta":{"content":"${'x'.repeat(900)}"}}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":40}}\n\ndata: [DONE]\n\n`);

function cpuUs(run: () => void, count: number): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}

export async function measureAccountingCost(count: number): Promise<AccountingCost> {
  const dir = tempDir('tokios-bench-accounting-');
  const store = new FileGatewayStore(join(dir.path, 'gw'));
  const log = new Logger('bench');
  const verifier = new CredentialVerifier(store, { log, lastUsedFlushMs: 3_600_000 });
  const counters = new LocalLimitCounters();
  const meter = new UsageMeter(store, { log, flushMs: 3_600_000 });
  const accounting = new RequestAccounting({ counters, meter, requestLog: new MemoryRequestLog() });
  const auth = new RequestAuth(verifier);
  const admin = new AccountAdmin(store);
  const unlimited = (await admin.createKey(IMPLICIT_ACCOUNT_ID, { label: 'bench' })).key!;
  const limited = (await admin.createKey(IMPLICIT_ACCOUNT_ID, { label: 'bench-limited', rpm: 1e9, tpm: 1e9, parallel: 100_000 })).key!;

  const oneRequest = async (key: string): Promise<void> => {
    const req = { headers: { authorization: `Bearer ${key}` } } as never;
    const outcome = await auth.apiKey(req);
    if (!outcome.ok) throw new Error(outcome.message);
    const res = new EventEmitter() as unknown as ServerResponse;
    (res as { statusCode: number }).statusCode = 200;
    const begun = await accounting.begin(outcome.principal, 'POST', '/v1/chat/completions', res);
    if (!begun.ok) throw new Error(begun.message);
    begun.ticket.deployment = 'bench';
    begun.ticket.dropUsageEvents = true;
    begun.ticket.onChunk(ANSWER, ANSWER);
    res.emit('close');
  };
  const loop = async (key: string): Promise<number> => {
    for (let i = 0; i < 2000; i++) await oneRequest(key); // warm-up
    const start = process.cpuUsage();
    for (let i = 0; i < count; i++) await oneRequest(key);
    const used = process.cpuUsage(start);
    return (used.user + used.system) / count;
  };

  try {
    // Before accounts: a Map of recently verified keys, one lookup per request.
    const remembered = new Map([[unlimited, { id: 'key' }]]);
    let sink = 0;
    const beforeUs = cpuUs(() => {
      for (let i = 0; i < count; i++) sink += remembered.get(unlimited) ? 1 : 0;
    }, count);
    if (sink !== count) throw new Error('lookup failed');
    const unlimitedUs = await loop(unlimited);
    const limitedUs = await loop(limited);
    return { beforeUs, unlimitedUs, limitedUs };
  } finally {
    await Promise.all([verifier.close(), counters.close(), meter.close()]);
    await store.close();
    dir.remove();
  }
}
