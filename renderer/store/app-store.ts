import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ApiClient } from '../../shared/api';
import { createDeploymentsSlice, type DeploymentsSlice } from './deployments-slice';
import { createDetectSlice, type DetectSlice } from './detect-slice';
import { createGatewaySlice, type GatewaySlice } from './gateway-slice';
import { createLogsSlice, type LogsSlice } from './logs-slice';
import { createRequestsSlice, type RequestsSlice } from './requests-slice';
import { createTestSlice, type TestSlice } from './test-slice';
import { createUiSlice, type UiSlice } from './ui-slice';

/**
 * One store made of one slice per domain (zustand's slices pattern); each slice keeps its
 * actions next to its state. Transport events flow in through `bindEvents`.
 */
export type AppState = DeploymentsSlice & DetectSlice & GatewaySlice & TestSlice & UiSlice & RequestsSlice & LogsSlice;
export type AppStore = StoreApi<AppState>;

export function createAppStore(api: ApiClient): AppStore {
  return createStore<AppState>()((...a) => ({
    ...createDeploymentsSlice(api)(...a),
    ...createDetectSlice(api)(...a),
    ...createGatewaySlice(api)(...a),
    ...createTestSlice(api)(...a),
    ...createRequestsSlice(api)(...a),
    ...createLogsSlice(api)(...a),
    ...createUiSlice(...a),
  }));
}

/** Routes every core event into the store; returns the unsubscribe. */
export function bindEvents(api: ApiClient, store: AppStore): () => void {
  const s = store.getState;
  const offs = [
    api.on('deployment.updated', (view) => s().applyDeployment(view)),
    api.on('deployment.removed', ({ id }) => {
      s().dropDeployment(id);
      s().clearFailedTest(id);
    }),
    // Back online: an old failed test no longer says anything true.
    api.on('deployment.state', ({ id, state }) => state === 'online' && s().clearFailedTest(id)),
    api.on('deployment.sample', ({ id, sample }) => s().addSample(id, sample)),
    api.on('request.logged', (request) => s().applyRequest(request)),
    api.on('logs.appended', ({ lines }) => s().appendLogs(lines)),
    api.on('detect.changed', ({ upstreams }) => s().applyDetected(upstreams)),
    api.on('gateway.changed', (info) => s().applyGateway(info)),
    api.on('app.changed', (info) => s().applyApp(info)),
    api.on('gateway.signIn', (event) => s().applySignIn(event)),
    api.on('test.chat', (event) => s().applyTestEvent(event)),
  ];
  return () => offs.forEach((off) => off());
}

/** Loads everything the first screens need; errors surface as a note, not a blank page. */
export async function loadInitial(store: AppStore): Promise<void> {
  const s = store.getState();
  const results = await Promise.allSettled([s.loadDeployments(), s.loadGateway(), s.loadDetected(), s.loadRequests(), s.loadLogs()]);
  for (const result of results) if (result.status === 'rejected') s.notify(`Could not load: ${(result.reason as Error).message}`, 'error');
}

/** Starts the page's one-second clock (rates decay by it); returns the stop. */
export function startClock(store: AppStore, everyMs = 1000): () => void {
  const timer = setInterval(() => store.getState().tick(Date.now()), everyMs);
  return () => clearInterval(timer);
}

export const StoreContext = createContext<AppStore | null>(null);

/** Selects narrowly from the app store (components re-render only for what they read). */
export function useApp<T>(selector: (state: AppState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useApp outside StoreContext');
  return useStore(store, selector);
}

/** The store's actions, without subscribing to any state (actions never change). */
export function useActions(): AppState {
  return useAppStore().getState();
}

export function useAppStore(): AppStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useAppStore outside StoreContext');
  return store;
}
