import type { ReactElement } from 'react';
import { CopyButton, Dialog } from '../../components/controls';
import { ICONS, Mark } from '../../components/icons';
import { useDashboard, useDashboardActions, type Page } from '../dashboard-store';
import { ApiKeysView, DevicesView, TunnelTokensView } from './credentials-views';
import { DeploymentsView } from './deployments-view';
import { DeviceApprovalView } from './device-approval-view';
import { RequestLogView } from './request-log-view';
import { SignInView } from './sign-in-view';
import { UsageView } from './usage-view';

/** Signed out: the sign-in form. Signed in: the account's pages under one header. */

/** The app's icons where a page is the same kind of thing; the others borrow the nearest. */
const TABS: Array<{ page: Page; label: string; icon: ReactElement | undefined }> = [
  { page: 'deployments', label: 'Deployments', icon: ICONS.deployments },
  { page: 'tokens', label: 'Tunnel tokens', icon: ICONS.gateway },
  { page: 'keys', label: 'API keys', icon: ICONS.settings },
  { page: 'devices', label: 'Devices', icon: ICONS.detected },
  { page: 'usage', label: 'Usage', icon: ICONS.logs },
  { page: 'requests', label: 'Request log', icon: ICONS.requests },
];

function CurrentPage() {
  const page = useDashboard((s) => s.page);
  switch (page) {
    case 'deployments':
      return <DeploymentsView />;
    case 'tokens':
      return <TunnelTokensView />;
    case 'keys':
      return <ApiKeysView />;
    case 'devices':
      return <DevicesView />;
    case 'usage':
      return <UsageView />;
    case 'requests':
      return <RequestLogView />;
    case 'device':
      return <DeviceApprovalView />;
  }
}

/** The secret just minted, shown once: copy it now; it is not kept anywhere. */
function CreatedDialog() {
  const created = useDashboard((s) => s.created);
  const { forgetCreated } = useDashboardActions();
  if (!created) return null;
  return (
    <Dialog title={`New ${created.what}`} onClose={forgetCreated} wide>
      <p>Copy it now: it is shown only this once, and only its hash is stored.</p>
      <div className="secret">
        <code aria-label={`New ${created.what}`}>{created.secret}</code>
        <CopyButton label={`Copy the new ${created.what}`} text={() => created.secret} />
      </div>
      {created.note && <p className="warning" role="alert">{created.note}</p>}
      <footer>
        <button type="button" onClick={forgetCreated}>Done</button>
      </footer>
    </Dialog>
  );
}

function ErrorNote() {
  const error = useDashboard((s) => s.error);
  const { setError } = useDashboardActions();
  if (!error) return null;
  return (
    <div className="toasts">
      <div className="toast error" role="alert">
        <span>{error}</span>
        <button type="button" aria-label="Dismiss" onClick={() => setError(null)}>×</button>
      </div>
    </div>
  );
}

export function DashboardShell() {
  const phase = useDashboard((s) => s.phase);
  const page = useDashboard((s) => s.page);
  const email = useDashboard((s) => s.session?.account.email ?? 'this gateway');
  const { go, signOut } = useDashboardActions();
  if (phase === 'loading') return <p className="muted" role="status">Loading…</p>;
  if (phase === 'signed-out') return <SignInView />;
  return (
    <div className="app">
      <header className="titlebar">
        <span className="brand"><Mark /> Tokios</span>
        <div className="spacer" />
        <div className="title-status">
          <span className="muted" data-testid="signed-in-as">{email}</span>
          <button type="button" className="ghost small" onClick={() => void signOut()}>Sign out</button>
        </div>
      </header>
      <nav className="sidebar" aria-label="Dashboard">
        {TABS.map((tab) => (
          <button key={tab.page} type="button" className="nav-item" aria-label={tab.label} title={tab.label} aria-current={page === tab.page ? 'page' : undefined} onClick={() => go(tab.page)}>
            {tab.icon}
            <span className="label">{tab.label}</span>
          </button>
        ))}
      </nav>
      <main>
        <div className="page">
          <CurrentPage />
        </div>
      </main>
      <CreatedDialog />
      <ErrorNote />
    </div>
  );
}
