import { TokiosError } from '../../shared/errors.js';
import { USAGE_GROUPS, type UsageBucket, type UsageGroup, type UsageReport } from '../../shared/hosted-api.js';
import type { UsageRow } from './gateway-store.js';

/**
 * `GET /v1/usage?from=&to=&group_by=`: the parameters, and the rows summed into buckets.
 * `from`/`to` take ISO dates or Unix seconds (default: the last 24 h); `group_by` is a
 * comma list of `key`, `deployment` and one of `minute`, `hour`, `day`.
 */

const GROUPS: readonly UsageGroup[] = USAGE_GROUPS;
const BUCKET_MS: Partial<Record<UsageGroup, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export interface UsageQuery {
  from: number;
  to: number;
  groupBy: UsageGroup[];
}

export function parseUsageQuery(params: URLSearchParams, now: number): UsageQuery {
  const to = params.has('to') ? parseTime(params.get('to')!, 'to') : now;
  const from = params.has('from') ? parseTime(params.get('from')!, 'from') : to - 86_400_000;
  if (from >= to) throw new TokiosError('INVALID_ARGUMENT', '`from` must be before `to`');
  const groupBy: UsageGroup[] = [];
  for (const part of (params.get('group_by') ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    if (!GROUPS.includes(part as UsageGroup)) throw new TokiosError('INVALID_ARGUMENT', `group_by: unknown '${part}'; use ${GROUPS.join(', ')}`);
    if (!groupBy.includes(part as UsageGroup)) groupBy.push(part as UsageGroup);
  }
  if (groupBy.filter((g) => BUCKET_MS[g]).length > 1) throw new TokiosError('INVALID_ARGUMENT', 'group_by: choose one of minute, hour, day');
  return { from, to, groupBy };
}

function parseTime(text: string, field: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(ms)) throw new TokiosError('INVALID_ARGUMENT', `\`${field}\` must be an ISO date or Unix seconds, got '${text.slice(0, 40)}'`);
  return ms;
}

export function buildUsageReport(rows: readonly UsageRow[], query: UsageQuery, keyLabel: (id: string) => string | null): UsageReport {
  const bucketMs = query.groupBy.map((g) => BUCKET_MS[g]).find((ms) => ms !== undefined);
  const buckets = new Map<string, { bucket: UsageBucket; ttftSum: number; ttftCount: number; durationSum: number }>();
  const totals = { bucket: emptyBucket(), ttftSum: 0, ttftCount: 0, durationSum: 0 };
  for (const row of rows) {
    const parts: string[] = [];
    const bucket = emptyBucket();
    if (bucketMs) {
      const start = row.minute - (row.minute % bucketMs);
      parts.push(String(start));
      bucket.start = new Date(start).toISOString();
    }
    if (query.groupBy.includes('key')) {
      parts.push(row.keyId);
      bucket.key_id = row.keyId;
      bucket.key_label = keyLabel(row.keyId);
    }
    if (query.groupBy.includes('deployment')) {
      parts.push(row.deployment);
      bucket.deployment = row.deployment;
    }
    const id = parts.join('\u0000');
    let entry = buckets.get(id);
    if (!entry) buckets.set(id, (entry = { bucket, ttftSum: 0, ttftCount: 0, durationSum: 0 }));
    for (const into of [entry, totals]) {
      into.bucket.requests += row.requests;
      into.bucket.errors.rate_limited += row.rateLimited;
      into.bucket.errors.client += row.clientErrors;
      into.bucket.errors.server += row.serverErrors;
      into.bucket.input_tokens += row.inputTokens;
      into.bucket.output_tokens += row.outputTokens;
      into.ttftSum += row.ttftMsSum;
      into.ttftCount += row.ttftCount;
      into.durationSum += row.durationMsSum;
    }
  }
  const finish = (e: { bucket: UsageBucket; ttftSum: number; ttftCount: number; durationSum: number }): UsageBucket => ({
    ...e.bucket,
    ttft_ms_avg: e.ttftCount > 0 ? round(e.ttftSum / e.ttftCount) : null,
    duration_ms_avg: e.bucket.requests > 0 ? round(e.durationSum / e.bucket.requests) : null,
  });
  const data = [...buckets.values()].map(finish).sort((a, b) => (a.start ?? '').localeCompare(b.start ?? '') || (a.deployment ?? '').localeCompare(b.deployment ?? '') || (a.key_id ?? '').localeCompare(b.key_id ?? ''));
  return { object: 'usage', from: new Date(query.from).toISOString(), to: new Date(query.to).toISOString(), group_by: query.groupBy, data, totals: finish(totals) };
}

function emptyBucket(): UsageBucket {
  return { requests: 0, errors: { rate_limited: 0, client: 0, server: 0 }, input_tokens: 0, output_tokens: 0, ttft_ms_avg: null, duration_ms_avg: null };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
