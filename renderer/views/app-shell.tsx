import { useApp, useActions } from '../store/app-store';
import type { View } from '../store/ui-slice';
import { DeploymentDetail } from './deployment-detail';
import { DeploymentForm } from './deployment-form';
import { DeploymentsView, Summary } from './deployments-view';
import { DetectedView } from './detected-view';
import { ExportDialog, ImportDialog, RemoveDialog } from './file-dialogs';
import { GatewayView } from './gateway-view';

/** Header with the overall state, navigation, the current view, dialogs and notes. */

const TABS: Array<{ view: View['name']; label: string }> = [
  { view: 'deployments', label: 'Deployments' },
  { view: 'detected', label: 'Detected servers' },
  { view: 'gateway', label: 'Gateway' },
];

function CurrentView() {
  const view = useApp((s) => s.view);
  switch (view.name) {
    case 'deployments':
      return <DeploymentsView />;
    case 'deployment':
      return <DeploymentDetail id={view.id} />;
    case 'detected':
      return <DetectedView />;
    case 'gateway':
      return <GatewayView />;
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
          <button type="button" className="ghost" aria-label="Dismiss" onClick={() => dismiss(t.id)}>×</button>
        </div>
      ))}
    </div>
  );
}

function ConnectionBanner() {
  const connection = useApp((s) => s.connection);
  if (connection === 'open' || connection === 'connecting') return null;
  return (
    <div className="banner" role="alert">
      {connection === 'refused'
        ? 'Cannot reach Tokios: open the exact URL that `tokios serve` printed (it carries this run\'s secret).'
        : 'Lost the connection to Tokios; reconnecting…'}
    </div>
  );
}

export function AppShell() {
  const current = useApp((s) => (s.view.name === 'deployment' ? 'deployments' : s.view.name));
  const { navigate } = useActions();
  return (
    <div className="app">
      <header className="top">
        <span className="brand">Tokios</span>
        <nav aria-label="Main">
          {TABS.map((tab) => (
            <button key={tab.view} type="button" className={`tab ${current === tab.view ? 'active' : ''}`} aria-current={current === tab.view ? 'page' : undefined} onClick={() => navigate({ name: tab.view } as View)}>
              {tab.label}
            </button>
          ))}
        </nav>
        <div className="spacer" />
        <Summary />
      </header>
      <ConnectionBanner />
      <main>
        <CurrentView />
      </main>
      <CurrentDialog />
      <Toasts />
    </div>
  );
}
