import type { UsageBucket, UsageReport } from '../../../shared/hosted-api';
import { Chart } from '../../components/controls';
import { formatMs } from '../../format';
import { useDashboard, useDashboardActions, type Granularity } from '../dashboard-store';

/** Requests and tokens per deployment and per key, by hour (last day) or by day (two weeks). */

const STEP_MS: Record<Granularity, number> = { hour: 3_600_000, day: 86_400_000 };

/** One series per group, with a value for every bucket of the period (zero where none). */
function series(report: UsageReport, group: (b: UsageBucket) => string, value: (b: UsageBucket) => number, granularity: Granularity): Map<string, number[]> {
  const step = STEP_MS[granularity];
  const first = Date.parse(report.from) - (Date.parse(report.from) % step);
  const count = Math.max(1, Math.ceil((Date.parse(report.to) - first) / step));
  const out = new Map<string, number[]>();
  for (const bucket of report.data) {
    const name = group(bucket);
    let values = out.get(name);
    if (!values) out.set(name, (values = new Array<number>(count).fill(0)));
    const index = Math.floor((Date.parse(bucket.start!) - first) / step);
    if (index >= 0 && index < count) values[index]! += value(bucket);
  }
  return out;
}

function Totals({ report }: { report: UsageReport }) {
  const t = report.totals;
  return (
    <dl className="stats" aria-label="Totals">
      <div><dt>Requests</dt><dd data-testid="usage-requests">{t.requests}</dd></div>
      <div><dt>Tokens in</dt><dd data-testid="usage-input-tokens">{t.input_tokens}</dd></div>
      <div><dt>Tokens out</dt><dd data-testid="usage-output-tokens">{t.output_tokens}</dd></div>
      <div><dt>Errors</dt><dd>{t.errors.client + t.errors.server + t.errors.rate_limited}</dd></div>
      <div><dt>Mean time to first token</dt><dd>{formatMs(t.ttft_ms_avg)}</dd></div>
      <div><dt>Mean duration</dt><dd>{formatMs(t.duration_ms_avg)}</dd></div>
    </dl>
  );
}

export function UsageView() {
  const usage = useDashboard((s) => s.usage);
  const { loadUsage } = useDashboardActions();
  const { granularity, byDeployment, byKey } = usage;
  const plain = (v: number | null): string => (v === null ? '—' : String(Math.round(v)));
  return (
    <section aria-labelledby="usage-title">
      <div className="toolbar">
        <h1 id="usage-title">Usage</h1>
        <div className="spacer" />
        {(['hour', 'day'] as const).map((g) => (
          <button key={g} type="button" className={`tab ${granularity === g ? 'active' : ''}`} aria-pressed={granularity === g} onClick={() => void loadUsage(g)}>
            By {g}
          </button>
        ))}
      </div>
      {!byDeployment || !byKey ? (
        <p className="muted" role="status">Loading…</p>
      ) : (
        <>
          <Totals report={byDeployment} />
          <h2>Per deployment</h2>
          {byDeployment.data.length === 0 && <p className="muted">No traffic in this period.</p>}
          <div className="charts">
            {[...series(byDeployment, (b) => b.deployment || '(no model)', (b) => b.input_tokens + b.output_tokens, granularity)].map(([name, values]) => (
              <Chart key={`t-${name}`} title={`${name}: tokens per ${granularity}`} values={values} unit="tokens" format={plain} />
            ))}
            {[...series(byDeployment, (b) => b.deployment || '(no model)', (b) => b.requests, granularity)].map(([name, values]) => (
              <Chart key={`r-${name}`} title={`${name}: requests per ${granularity}`} values={values} unit="requests" format={plain} />
            ))}
          </div>
          <h2>Per API key</h2>
          <div className="charts">
            {[...series(byKey, (b) => b.key_label ?? b.key_id ?? '?', (b) => b.requests, granularity)].map(([name, values]) => (
              <Chart key={name} title={`${name}: requests per ${granularity}`} values={values} unit="requests" format={plain} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
