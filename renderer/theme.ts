import type { AppStore } from './store/app-store';
import type { Theme } from './store/ui-slice';

/**
 * Light and dark follow the system unless the user picked one in Settings. The stylesheet
 * holds both palettes (CSS light-dark()); this only sets `color-scheme` on the root, and
 * tells the charts (drawn on canvas) when the palette changed.
 */

export function resolvedTheme(theme: Theme): 'light' | 'dark' {
  if (theme !== 'system') return theme;
  return globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Applies the store's theme now and whenever it or the system's changes; returns the stop. */
export function applyTheme(store: AppStore): () => void {
  const apply = (): void => {
    const theme = store.getState().theme;
    document.documentElement.dataset.theme = resolvedTheme(theme);
  };
  apply();
  const media = globalThis.matchMedia?.('(prefers-color-scheme: dark)');
  media?.addEventListener('change', apply);
  const off = store.subscribe((state, previous) => state.theme !== previous.theme && apply());
  return () => {
    media?.removeEventListener('change', apply);
    off();
  };
}
