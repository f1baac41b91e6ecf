import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApiClient, type Carrier } from './transport/api-client';
import { electronCarrier } from './transport/electron-carrier';
import { takeSecret, websocketCarrier, type ConnectionState } from './transport/websocket-carrier';
import { bindEvents, createAppStore, loadInitial, startClock, StoreContext } from './store/app-store';
import { applyTheme } from './theme';
import { AppShell } from './views/app-shell';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

/** Picks the transport (Electron's bridge, else the headless WebSocket) and starts the UI. */

let setConnection: (state: ConnectionState) => void = () => undefined;
let runId: () => string | null = () => null;
let carrier: Carrier;
if (window.tokiosBridge) {
  carrier = electronCarrier(window.tokiosBridge);
} else {
  carrier = websocketCarrier(takeSecret() ?? '', (state) => setConnection(state), { runId: () => runId() });
}
const api = createApiClient(carrier);
const store = createAppStore(api);
runId = () => store.getState().app?.runId ?? null;
let wasLost = false;
setConnection = (state) => {
  store.getState().setConnection(state);
  // After a reconnect, what changed meanwhile is not in any event: load it again.
  if (state === 'open' && wasLost) void loadInitial(store);
  if (state === 'lost') wasLost = true;
};
if (window.tokiosBridge) store.getState().setConnection('open');
bindEvents(api, store);
startClock(store);
applyTheme(store);
void loadInitial(store).then(() => {
  const s = store.getState();
  // First run: nothing deployed and the guide not dismissed yet.
  if (s.deploymentsLoaded && s.order.length === 0 && !localStorage.getItem('tokios-welcome-done')) s.navigate({ name: 'welcome' });
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <AppShell />
    </StoreContext.Provider>
  </StrictMode>,
);
