import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { DashboardClient } from './dashboard-client';
import { createDashboardStore, DashboardContext, type Page } from './dashboard-store';
import { DashboardShell } from './views/dashboard-shell';
import 'uplot/dist/uPlot.min.css';
import '../styles.css';
import './dashboard.css';

/** The gateway's web dashboard: the page at `/` (and `/device` for approving the app). */

const PAGES: Page[] = ['deployments', 'tokens', 'keys', 'devices', 'usage', 'requests'];
const hash = location.hash.slice(1) as Page;
const initial: Page = location.pathname === '/device' ? 'device' : PAGES.includes(hash) ? hash : 'deployments';
const client = new DashboardClient();
const store = createDashboardStore(client, initial);
void store.getState().start();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <DashboardContext.Provider value={{ store, client }}>
      <DashboardShell />
    </DashboardContext.Provider>
  </StrictMode>,
);
