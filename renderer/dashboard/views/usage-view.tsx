import type { UsageBucket, UsageReport } from '../../../shared/hosted-api';
import { PageHeader } from '../../components/controls';
import { TimeChart, type ChartPoint } from '../../components/time-chart';
import { formatMs } from '../../format';
import { useDashboard, useDashboardActions, type Granularity } from '../dashboard-store';

/** Requests and tokens per deployment and per key, by hour (last day) or by day (two weeks). */

const STEP_MS: Record<Granularity, number> = { hour: 3_600_000, day: 86_400_000 };

/** One series per group, with a point for every bucket of the period (zero where none). */
function series(report: UsageReport, group: (b: UsageBucket) => string, value: (b: UsageBucket) => number, granularity: Granularity): Map<string, ChartPoint[]> {
  const step = STEP_MS[granularity];
  const first = Date.parse(report.from) - (Date.parse(report.from) % step);
  const count = Math.max(1, Math.ceil((Date.parse(report.to) - first) / step));
  const out = new Map<string, ChartPoint[]>();
  for (const bucket of report.data) {
    const name = group(bucket);
    let points = out.get(name);
    if (!points) out.set(name, (points = Array.from({ length: count }, (_, i) => ({ t: first + i * step, v: 0 }))));
    const index = Math.floor((Date.parse(bucket.start!) - first) / step);
    if (index >= 0 && index < count) points[index]!.v! += value(bucket);
  }
  return out;
}

function Totals({ report }: { report: UsageReport }) {
  const t = report.totals;
  return (
    <dl className="tiles" aria-label="Totals">
      <div className="tile"><dt>Requests</dt><dd data-testid="usage-requests">{t.requests}</dd></div>
      <div className="tile"><dt>Tokens in</dt><dd data-testid="usage-input-tokens">{t.input_tokens}</dd></div>
      <div className="tile"><dt>Tokens out</dt><dd data-testid="usage-output-tokens">{t.output_tokens}</dd></div>
      <div className="tile"><dt>Errors</dt><dd>{t.errors.client + t.errors.server + t.errors.rate_limited}</dd></div>
      <div className="tile"><dt>Mean time to first token</dt><dd>{formatMs(t.ttft_ms_avg)}</dd></div>
      <div className="tile"><dt>Mean duration</dt><dd>{formatMs(t.duration_ms_avg)}</dd></div>
    </dl>
  );
}

export function UsageView() {
  const usage = useDashboard((s) => s.usage);
  const { loadUsage } = useDashboardActions();
  const { granularity, byDeployment, byKey } = usage;
  const plain = (v: number | null): string => (v === null ? '—' : String(Math.round(v)));
  const axis = (v: number): string => String(Math.round(v));
  return (
    <section aria-labelledby="usage-title">
      <PageHeader title="Usage" id="usage-title">
        {(['hour', 'day'] as const).map((g) => (
          <button key={g} type="button" className={granularity === g ? '' : 'ghost'} aria-pressed={granularity === g} onClick={() => void loadUsage(g)}>
            By {g}
          </button>
        ))}
      </PageHeader>
      {!byDeployment || !byKey ? (
        <p className="muted" role="status">Loading…</p>
      ) : (
        <>
          <Totals report={byDeployment} />
          <h2>Per deployment</h2>
          {byDeployment.data.length === 0 && <p className="muted">No traffic in this period.</p>}
          <div className="charts">
            {[...series(byDeployment, (b) => b.deployment || '(no model)', (b) => b.input_tokens + b.output_tokens, granularity)].map(([name, values]) => (
              <TimeChart key={`t-${name}`} title={`${name}: tokens per ${granularity}`} points={values} format={plain} axis={axis} floor={10} empty="No tokens in this span" />
            ))}
            {[...series(byDeployment, (b) => b.deployment || '(no model)', (b) => b.requests, granularity)].map(([name, values]) => (
              <TimeChart key={`r-${name}`} title={`${name}: requests per ${granularity}`} points={values} format={plain} axis={axis} floor={5} empty="No requests in this span" />
            ))}
          </div>
          <h2>Per API key</h2>
          <div className="charts">
            {[...series(byKey, (b) => b.key_label ?? b.key_id ?? '?', (b) => b.requests, granularity)].map(([name, values]) => (
              <TimeChart key={name} title={`${name}: requests per ${granularity}`} points={values} format={plain} axis={axis} floor={5} empty="No requests in this span" />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
