import { PageHeader } from '../../components/controls';
import { formatMs } from '../../format';
import { useDashboard, useDashboardActions } from '../dashboard-store';

/** The latest requests of this account: what, which key, how it went. Never a body. */
export function RequestLogView() {
  const requests = useDashboard((s) => s.requests);
  const { refresh } = useDashboardActions();
  return (
    <section aria-labelledby="requests-title">
      <PageHeader title="Request log" id="requests-title" sub="Metadata only: never a body.">
        <button type="button" className="ghost" onClick={() => void refresh('requests')}>Refresh</button>
      </PageHeader>
      {requests.length === 0 ? (
        <p className="empty">No requests yet.</p>
      ) : (
        <div className="table-wrap">
          <table aria-label="Request log">
            <thead><tr><th>Time</th><th>Key</th><th>Deployment</th><th>Path</th><th>Status</th><th>First token</th><th>Duration</th><th>Tokens in</th><th>Tokens out</th></tr></thead>
            <tbody>
              {requests.map((r, i) => (
                <tr key={`${r.time}-${i}`} className={r.status >= 400 ? 'bad' : ''}>
                  <td>{new Date(r.time).toLocaleTimeString()}</td>
                  <td>{r.key_label ?? r.key_id}</td>
                  <td>{r.deployment ?? '—'}</td>
                  <td>{r.method} {r.path}</td>
                  <td>{r.status}</td>
                  <td>{formatMs(r.ttft_ms)}</td>
                  <td>{formatMs(r.duration_ms)}</td>
                  <td>{r.input_tokens ?? '—'}</td>
                  <td>{r.output_tokens ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
