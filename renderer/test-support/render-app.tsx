import { render, type RenderResult } from '@testing-library/react';
import type { ReactElement } from 'react';
import { bindEvents, createAppStore, StoreContext, type AppStore } from '../store/app-store';
import type { FakeApi } from './fake-api';

/** Renders `ui` inside a store backed by `api`; `prepare` fills the store first (what a view reads on mount). */
export function renderWithStore(ui: ReactElement, api: FakeApi, prepare?: (store: AppStore) => void): RenderResult & { store: AppStore } {
  const store = createAppStore(api);
  bindEvents(api, store);
  prepare?.(store);
  return { store, ...render(<StoreContext.Provider value={store}>{ui}</StoreContext.Provider>) };
}
