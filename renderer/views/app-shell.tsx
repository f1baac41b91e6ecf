import { useEffect, useRef, type ReactNode } from 'react';
import { STATE_SEVERITY } from '../../shared/health';
import { CopyButton, focusPageTitle } from '../components/controls';
import { ICONS, Mark } from '../components/icons';
import { formatTime } from '../format';
import { useActions, useApp } from '../store/app-store';
import { isFailure } from '../store/requests-slice';
import type { View } from '../store/ui-slice';
import { DeploymentDetail } from './deployment-detail';
import { DeploymentForm } from './deployment-form';
import { DeploymentsView } from './deployments-view';
import { DetectedView } from './detected-view';
import { ExportDialog, ImportDialog, RemoveDialog } from './file-dialogs';
import { RotateKeyDialog, SwitchGatewayDialog } from './gateway-dialogs';
import { GatewayView } from './gateway-view';
import { LogsView } from './logs-view';
import { RequestsView } from './requests-view';
import { SettingsView } from './settings-view';
import { WelcomeView } from './welcome-view';

/** The window: title bar with the overall state, icon sidebar, the current view, dialogs and notes. */

type Section = Exclude<View['name'], 'deployment'>;

const NAV: Array<{ view: Section; label: string }> = [
  { view: 'deployments', label: 'Deployments' },
  { view: 'detected', label: 'Detected servers' },
  { view: 'requests', label: 'Requests' },
  { view: 'logs', label: 'Logs' },
  { view: 'gateway', label: 'Gateway' },
];

function CurrentView() {
  const view = useApp((s) => s.view);
  switch (view.name) {
    case 'welcome':
      return <WelcomeView />;
    case 'deployments':
      return <DeploymentsView />;
    case 'deployment':
      return <DeploymentDetail id={view.id} />;
    case 'detected':
      return <DetectedView />;
    case 'requests':
      return <RequestsView />;
    case 'logs':
      return <LogsView />;
    case 'gateway':
      return <GatewayView />;
    case 'settings':
      return <SettingsView />;
  }
}

function CurrentDialog() {
  const dialog = useApp((s) => s.dialog);
  if (!dialog) return null;
  switch (dialog.kind) {
    case 'create':
      return <DeploymentForm {...(dialog.preset ? { preset: dialog.preset } : {})} />;
    case 'edit':
      return <DeploymentForm editId={dialog.id} />;
    case 'import':
      return <ImportDialog />;
    case 'export':
      return <ExportDialog id={dialog.id} />;
    case 'remove':
      return <RemoveDialog id={dialog.id} />;
    case 'switch-gateway':
      return <SwitchGatewayDialog />;
    case 'rotate-key':
      return <RotateKeyDialog />;
  }
}

function Toasts() {
  const toasts = useApp((s) => s.toasts);
  const { dismiss } = useActions();
  return (
    <div className="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast ${t.tone}`}>
          <span>{t.text}</span>
          <button type="button" aria-label="Dismiss" onClick={() => dismiss(t.id)}>×</button>
        </div>
      ))}
    </div>
  );
}

/** Says plainly when the page cannot trust what it shows. */
function ConnectionBanner() {
  const connection = useApp((s) => s.connection);
  const lastContact = useApp((s) => s.lastContact);
  if (connection === 'open' || connection === 'connecting') return null;
  const since = lastContact ? ` The states below are as of ${formatTime(lastContact)}.` : '';
  const text =
    connection === 'refused'
      ? 'Cannot reach Tokios: open the exact URL that `tokios serve` printed (it carries this run\'s secret).'
      : connection === 'stale'
        ? `Tokios was restarted, and this tab belongs to its previous run. Open the URL the new run printed (\`tokios serve\` prints it on start).${since}`
        : `Tokios is not answering — it stopped, or this machine is busy. Reconnecting…${since}`;
  return <div className={`banner ${connection === 'lost' ? 'warn' : 'error'}`} role="alert">{text}</div>;
}

/** "2 of 3 online · 1 needs attention", for the title bar. */
export function Summary() {
  const deployments = useApp((s) => s.deployments);
  const live = useApp((s) => s.connection === 'open');
  const list = Object.values(deployments).filter((d) => !d.id.startsWith('file:') || d.configError);
  if (!live) return <span className="summary state-unknown"><span className="dot" aria-hidden="true" />No connection to Tokios</span>;
  if (list.length === 0) return <span className="summary muted">No deployments yet</span>;
  const online = list.filter((d) => d.health.state === 'online').length;
  const attention = list.filter((d) => d.configError || STATE_SEVERITY[d.health.state] >= 3).length;
  const worst = attention > 0 ? 'error' : list.some((d) => STATE_SEVERITY[d.health.state] === 2) ? 'busy' : online > 0 ? 'ok' : 'idle';
  return (
    <span className={`summary state-${worst}`} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {online} of {list.length} online{attention > 0 ? ` · ${attention} need${attention === 1 ? 's' : ''} attention` : ''}
    </span>
  );
}

function Endpoint() {
  const gateway = useApp((s) => s.gateway);
  if (!gateway?.url) return null;
  const base = `${gateway.url}/v1`;
  return (
    <span className="endpoint">
      <span className="small">Endpoint</span>
      <code>{base}</code>
      <CopyButton label="Copy endpoint URL" text={() => base} />
    </span>
  );
}

export function AppShell() {
  const view = useApp((s) => s.view);
  const current: Section = view.name === 'deployment' ? 'deployments' : view.name;
  // Which page, not which row of it is selected: only a new page moves focus.
  const page = view.name === 'deployment' ? `deployment:${view.id}` : view.name;
  const banner = useApp((s) => s.connection !== 'open' && s.connection !== 'connecting');
  const failures = useApp((s) => s.inspected.filter((r) => isFailure(r) && s.now - r.time < 60_000).length);
  const { navigate } = useActions();
  const first = useRef(true);

  // Navigation moves focus to the new page's title, so keyboard users start there.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    focusPageTitle();
  }, [page]);

  const item = (section: Section, label: string, extra?: ReactNode) => (
    <button key={section} type="button" className="nav-item" aria-label={label} aria-current={current === section ? 'page' : undefined} title={label} onClick={() => navigate({ name: section } as View)}>
      {ICONS[section]}
      <span className="label">{label}</span>
      {extra}
    </button>
  );

  return (
    <div className={`app ${banner ? 'has-banner' : ''}`}>
      <header className="titlebar">
        <span className="brand"><Mark /> Tokios</span>
        <div className="spacer" />
        <div className="title-status">
          <Endpoint />
          <Summary />
        </div>
      </header>
      <ConnectionBanner />
      <nav className="sidebar" aria-label="Main">
        {NAV.map((n) => item(n.view, n.label, n.view === 'requests' && failures > 0 ? <span className="badge error" aria-hidden="true">{failures}</span> : undefined))}
        <div className="spacer" />
        <div className="nav-sep" />
        {item('settings', 'Settings')}
      </nav>
      <main>
        <div className="page">
          <CurrentView />
        </div>
      </main>
      <CurrentDialog />
      <Toasts />
    </div>
  );
}
