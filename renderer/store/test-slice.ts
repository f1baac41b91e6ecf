import type { StateCreator } from 'zustand';
import type { ApiClient, TestChatEvent } from '../../shared/api';
import type { AppState } from './app-store';

/**
 * Test requests sent from the app, and their replies as they stream in. Runs belong to a
 * deployment's id, not its name: a new deployment that reuses a name starts with no old
 * reply, and a failed test is cleared once its deployment is back online.
 */
export interface TestRun {
  requestId: string;
  /** The deployment's id. */
  deploymentId: string;
  /** The name the request was sent to. */
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
  /** The latest run per deployment id. */
  latestTest: Record<string, string>;
  sendTest(deploymentId: string, deployment: string, prompt: string): Promise<void>;
  applyTestEvent(event: TestChatEvent): void;
  /** Forgets the deployment's latest run if it failed (it recovered, or it is gone). */
  clearFailedTest(deploymentId: string): void;
}

export const createTestSlice =
  (api: ApiClient): StateCreator<AppState, [], [], TestSlice> =>
  (set) => ({
    tests: {},
    latestTest: {},
    async sendTest(deploymentId, deployment, prompt) {
      const pendingId = `pending-${Date.now()}`;
      const run: TestRun = { requestId: pendingId, deploymentId, deployment, prompt, text: '', ttftMs: null, durationMs: null, completionTokens: null, status: 'sending', error: null };
      set((s) => ({ tests: { ...s.tests, [pendingId]: run }, latestTest: { ...s.latestTest, [deploymentId]: pendingId } }));
      try {
        const { requestId } = await api.call('test.chat', { deployment, prompt });
        set((s) => {
          const { [pendingId]: pending, ...rest } = s.tests;
          // Events may have raced ahead of the answer; keep what they brought.
          const merged = { ...pending!, ...(rest[requestId] ?? {}), requestId, deploymentId, deployment, prompt };
          return { tests: { ...rest, [requestId]: merged }, latestTest: { ...s.latestTest, [deploymentId]: requestId } };
        });
      } catch (error) {
        set((s) => ({ tests: { ...s.tests, [pendingId]: { ...run, status: 'error', error: (error as Error).message } } }));
      }
    },
    applyTestEvent(event) {
      set((s) => {
        const current: TestRun = s.tests[event.requestId] ?? { requestId: event.requestId, deploymentId: '', deployment: '', prompt: '', text: '', ttftMs: null, durationMs: null, completionTokens: null, status: 'streaming', error: null };
        let next: TestRun;
        if (event.type === 'chunk') next = { ...current, text: current.text + event.text, status: 'streaming' };
        else if (event.type === 'first-token') next = { ...current, ttftMs: event.ttftMs, status: 'streaming' };
        else if (event.type === 'done') next = { ...current, status: 'done', durationMs: event.durationMs, ttftMs: event.ttftMs ?? current.ttftMs, completionTokens: event.completionTokens };
        else next = { ...current, status: 'error', error: event.message };
        return { tests: { ...s.tests, [event.requestId]: next } };
      });
    },
    clearFailedTest(deploymentId) {
      set((s) => {
        const runId = s.latestTest[deploymentId];
        if (!runId || s.tests[runId]?.status !== 'error') return {};
        const { [deploymentId]: _gone, ...latestTest } = s.latestTest;
        return { latestTest };
      });
    },
  });
