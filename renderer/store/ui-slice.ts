import type { StateCreator } from 'zustand';
import type { AppState } from './app-store';

/** Where the user is, which dialog is open, the theme, the page's clock and the little notes it shows. */

export type View =
  | { name: 'welcome' }
  | { name: 'deployments' }
  | { name: 'deployment'; id: string }
  | { name: 'detected' }
  | { name: 'requests'; selected?: number }
  | { name: 'logs'; source?: string }
  | { name: 'gateway' }
  | { name: 'settings' };

export type Dialog =
  | { kind: 'create'; preset?: { name?: string; upstream?: string; model?: string | null } }
  | { kind: 'edit'; id: string }
  | { kind: 'import' }
  | { kind: 'export'; id: string }
  | { kind: 'remove'; id: string }
  | { kind: 'switch-gateway' }
  | { kind: 'rotate-key' };

export interface Toast {
  id: number;
  tone: 'info' | 'error';
  text: string;
}

/**
 * - connecting: first contact; open: live
 * - lost: the app stopped answering (shown figures are from `lastContact`)
 * - refused: never got in (wrong or missing secret)
 * - stale: the app runs again, but as a new run this tab has no secret for
 */
export type Connection = 'connecting' | 'open' | 'lost' | 'refused' | 'stale';

export type Theme = 'system' | 'light' | 'dark';

export interface UiSlice {
  view: View;
  dialog: Dialog | null;
  toasts: Toast[];
  connection: Connection;
  /** When the app last answered (for "figures from 10:42:03"). */
  lastContact: number | null;
  theme: Theme;
  /** The page's clock, ticking once a second: rates decay by it between publications. */
  now: number;
  navigate(view: View): void;
  openDialog(dialog: Dialog): void;
  closeDialog(): void;
  notify(text: string, tone?: Toast['tone']): void;
  dismiss(id: number): void;
  setConnection(connection: Connection): void;
  setTheme(theme: Theme): void;
  tick(now: number): void;
}

let toastId = 0;
const THEME_KEY = 'tokios-theme';

function savedTheme(): Theme {
  try {
    const value = globalThis.localStorage?.getItem(THEME_KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

export const createUiSlice: StateCreator<AppState, [], [], UiSlice> = (set) => ({
  view: { name: 'deployments' },
  dialog: null,
  toasts: [],
  connection: 'connecting',
  lastContact: null,
  theme: savedTheme(),
  now: Date.now(),
  navigate: (view) => set({ view }),
  openDialog: (dialog) => set({ dialog }),
  closeDialog: () => set({ dialog: null }),
  notify(text, tone = 'info') {
    const id = ++toastId;
    set((s) => ({ toasts: [...s.toasts, { id, tone, text }].slice(-4) }));
    setTimeout(() => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })), tone === 'error' ? 8000 : 4000);
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  setConnection: (connection) => set((s) => ({ connection, lastContact: connection === 'open' || s.connection === 'open' ? Date.now() : s.lastContact })),
  setTheme(theme) {
    try {
      globalThis.localStorage?.setItem(THEME_KEY, theme);
    } catch {
      // private mode: the choice lasts for this page only
    }
    set({ theme });
  },
  tick: (now) => set((s) => (s.connection === 'open' ? { now, lastContact: now } : { now })),
});
