import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApiClient, type Carrier } from './transport/api-client';
import { electronCarrier } from './transport/electron-carrier';
import { takeSecret, websocketCarrier, type ConnectionState } from './transport/websocket-carrier';
import { bindEvents, createAppStore, loadInitial, StoreContext } from './store/app-store';
import { AppShell } from './views/app-shell';
import './styles.css';

/** Picks the transport (Electron's bridge, else the headless WebSocket) and starts the UI. */

let setConnection: (state: ConnectionState) => void = () => undefined;
let carrier: Carrier;
if (window.tokiosBridge) {
  carrier = electronCarrier(window.tokiosBridge);
} else {
  carrier = websocketCarrier(takeSecret() ?? '', (state) => setConnection(state));
}
const api = createApiClient(carrier);
const store = createAppStore(api);
let wasLost = false;
setConnection = (state) => {
  store.getState().setConnection(state);
  // After a reconnect, what changed meanwhile is not in any event: load it again.
  if (state === 'open' && wasLost) void loadInitial(store);
  if (state === 'lost') wasLost = true;
};
if (window.tokiosBridge) store.getState().setConnection('open');
bindEvents(api, store);
void loadInitial(store);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <AppShell />
    </StoreContext.Provider>
  </StrictMode>,
);
