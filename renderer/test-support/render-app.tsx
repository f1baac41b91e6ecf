import { render, type RenderResult } from '@testing-library/react';
import type { ReactElement } from 'react';
import { bindEvents, createAppStore, StoreContext, type AppStore } from '../store/app-store';
import type { FakeApi } from './fake-api';

/** Renders `ui` inside a store backed by `api`. */
export function renderWithStore(ui: ReactElement, api: FakeApi): RenderResult & { store: AppStore } {
  const store = createAppStore(api);
  bindEvents(api, store);
  return { store, ...render(<StoreContext.Provider value={store}>{ui}</StoreContext.Provider>) };
}
