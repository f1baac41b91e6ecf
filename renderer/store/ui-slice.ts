import type { StateCreator } from 'zustand';
import type { AppState } from './app-store';

/** Where the user is, which dialog is open, and the little notes the app shows them. */

export type View = { name: 'deployments' } | { name: 'deployment'; id: string } | { name: 'detected' } | { name: 'gateway' };

export type Dialog =
  | { kind: 'create'; preset?: { name?: string; upstream?: string; model?: string | null } }
  | { kind: 'edit'; id: string }
  | { kind: 'import' }
  | { kind: 'export'; id: string }
  | { kind: 'remove'; id: string };

export interface Toast {
  id: number;
  tone: 'info' | 'error';
  text: string;
}

export type Connection = 'connecting' | 'open' | 'lost' | 'refused';

export interface UiSlice {
  view: View;
  dialog: Dialog | null;
  toasts: Toast[];
  connection: Connection;
  navigate(view: View): void;
  openDialog(dialog: Dialog): void;
  closeDialog(): void;
  notify(text: string, tone?: Toast['tone']): void;
  dismiss(id: number): void;
  setConnection(connection: Connection): void;
}

let toastId = 0;

export const createUiSlice: StateCreator<AppState, [], [], UiSlice> = (set) => ({
  view: { name: 'deployments' },
  dialog: null,
  toasts: [],
  connection: 'connecting',
  navigate: (view) => set({ view }),
  openDialog: (dialog) => set({ dialog }),
  closeDialog: () => set({ dialog: null }),
  notify(text, tone = 'info') {
    const id = ++toastId;
    set((s) => ({ toasts: [...s.toasts, { id, tone, text }].slice(-4) }));
    setTimeout(() => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })), tone === 'error' ? 8000 : 4000);
  },
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  setConnection: (connection) => set({ connection }),
});
