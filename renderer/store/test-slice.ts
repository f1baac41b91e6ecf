import type { StateCreator } from 'zustand';
import type { ApiClient, TestChatEvent } from '../../shared/api';
import type { AppState } from './app-store';

/** Test requests sent from the app, and their replies as they stream in. */
export interface TestRun {
  requestId: string;
  deployment: string;
  prompt: string;
  text: string;
  ttftMs: number | null;
  durationMs: number | null;
  completionTokens: number | null;
  status: 'sending' | 'streaming' | 'done' | 'error';
  error: string | null;
}

export interface TestSlice {
  tests: Record<string, TestRun>;
  /** The latest run per deployment name. */
  latestTest: Record<string, string>;
  sendTest(deployment: string, prompt: string): Promise<void>;
  applyTestEvent(event: TestChatEvent): void;
}

export const createTestSlice =
  (api: ApiClient): StateCreator<AppState, [], [], TestSlice> =>
  (set) => ({
    tests: {},
    latestTest: {},
    async sendTest(deployment, prompt) {
      const pendingId = `pending-${Date.now()}`;
      const run: TestRun = { requestId: pendingId, deployment, prompt, text: '', ttftMs: null, durationMs: null, completionTokens: null, status: 'sending', error: null };
      set((s) => ({ tests: { ...s.tests, [pendingId]: run }, latestTest: { ...s.latestTest, [deployment]: pendingId } }));
      try {
        const { requestId } = await api.call('test.chat', { deployment, prompt });
        set((s) => {
          const { [pendingId]: pending, ...rest } = s.tests;
          // Events may have raced ahead of the answer; keep what they brought.
          const merged = { ...pending!, ...(rest[requestId] ?? {}), requestId, deployment, prompt };
          return { tests: { ...rest, [requestId]: merged }, latestTest: { ...s.latestTest, [deployment]: requestId } };
        });
      } catch (error) {
        set((s) => ({ tests: { ...s.tests, [pendingId]: { ...run, status: 'error', error: (error as Error).message } } }));
      }
    },
    applyTestEvent(event) {
      set((s) => {
        const current: TestRun = s.tests[event.requestId] ?? { requestId: event.requestId, deployment: '', prompt: '', text: '', ttftMs: null, durationMs: null, completionTokens: null, status: 'streaming', error: null };
        let next: TestRun;
        if (event.type === 'chunk') next = { ...current, text: current.text + event.text, status: 'streaming' };
        else if (event.type === 'first-token') next = { ...current, ttftMs: event.ttftMs, status: 'streaming' };
        else if (event.type === 'done') next = { ...current, status: 'done', durationMs: event.durationMs, ttftMs: event.ttftMs ?? current.ttftMs, completionTokens: event.completionTokens };
        else next = { ...current, status: 'error', error: event.message };
        return { tests: { ...s.tests, [event.requestId]: next } };
      });
    },
  });
