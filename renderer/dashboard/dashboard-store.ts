import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { CreateKeyInput, CreateTokenInput, CredentialView, HostedDeployment, RequestLogEntry, SessionView, UsageReport } from '../../shared/hosted-api';
import { SessionEnded, type DashboardClient } from './dashboard-client';

/**
 * The dashboard's state: who is signed in, the account's deployments, tokens, keys, usage
 * and request log, and what the person is looking at. One store; actions sit next to the
 * state they change. A call that finds the session ended sends the page back to sign-in.
 */

export type Page = 'deployments' | 'tokens' | 'keys' | 'devices' | 'usage' | 'requests' | 'device';
export type Granularity = 'hour' | 'day';

export interface Created {
  what: 'tunnel token' | 'API key';
  secret: string;
  note: string | null;
}

export interface DashboardState {
  phase: 'loading' | 'signed-out' | 'signed-in';
  session: SessionView | null;
  signup: boolean;
  /** Why the person sees the sign-in page again, if they were signed in. */
  notice: string | null;
  page: Page;
  deployments: HostedDeployment[];
  tokens: CredentialView[];
  keys: CredentialView[];
  requests: RequestLogEntry[];
  usage: { granularity: Granularity; byDeployment: UsageReport | null; byKey: UsageReport | null };
  /** A secret just minted: shown once, then forgotten. */
  created: Created | null;
  error: string | null;

  start(): Promise<void>;
  signIn(email: string, password: string, signUp: boolean): Promise<void>;
  signOut(): Promise<void>;
  go(page: Page): void;
  refresh(page?: Page): Promise<void>;
  createToken(input: CreateTokenInput): Promise<void>;
  createKey(input: CreateKeyInput): Promise<void>;
  revoke(kind: 'api-keys' | 'tunnel-tokens', id: string): Promise<void>;
  loadUsage(granularity: Granularity): Promise<void>;
  forgetCreated(): void;
  setError(error: string | null): void;
}

export type DashboardStore = StoreApi<DashboardState>;

const WINDOW_MS: Record<Granularity, number> = { hour: 24 * 3_600_000, day: 14 * 86_400_000 };

export function createDashboardStore(client: DashboardClient, initialPage: Page): DashboardStore {
  return createStore<DashboardState>()((set, get) => {
    /** Runs a call; a session that ended sends the page back to sign-in, other errors show. */
    const guard = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
      try {
        const result = await work();
        return result;
      } catch (error) {
        if (error instanceof SessionEnded) {
          client.csrfToken = null;
          set({ phase: 'signed-out', session: null, notice: 'Your session has ended. Sign in again.' });
          return undefined;
        }
        set({ error: (error as Error).message });
        throw error;
      }
    };

    return {
      phase: 'loading',
      session: null,
      signup: false,
      notice: null,
      page: initialPage,
      deployments: [],
      tokens: [],
      keys: [],
      requests: [],
      usage: { granularity: 'hour', byDeployment: null, byKey: null },
      created: null,
      error: null,

      async start() {
        const config = await client.config().catch(() => ({ signup: false }));
        try {
          const session = await client.session();
          client.csrfToken = session.csrfToken;
          set({ signup: config.signup, session, phase: 'signed-in' });
          await get().refresh();
        } catch {
          set({ signup: config.signup, phase: 'signed-out' });
        }
      },

      async signIn(email, password, signUp) {
        const session = await client.signIn(email, password, signUp);
        client.csrfToken = session.csrfToken;
        set({ session, phase: 'signed-in', notice: null, error: null });
        await get().refresh();
      },

      async signOut() {
        await client.signOut().catch(() => undefined);
        client.csrfToken = null;
        set({ session: null, phase: 'signed-out', notice: 'Signed out.', deployments: [], tokens: [], keys: [], requests: [] });
      },

      go(page) {
        set({ page, error: null });
        if (page !== 'device') history.replaceState(null, '', page === 'deployments' ? '/' : `/#${page}`);
        void get().refresh(page).catch(() => undefined);
      },

      async refresh(page = get().page) {
        if (get().phase !== 'signed-in') return;
        await guard(async () => {
          if (page === 'deployments') set({ deployments: await client.deployments() });
          else if (page === 'tokens') {
            const [tokens, deployments] = await Promise.all([client.credentials('tunnel-tokens'), client.deployments()]);
            set({ tokens, deployments });
          } else if (page === 'keys' || page === 'devices') set({ keys: await client.credentials('api-keys') });
          else if (page === 'requests') set({ requests: await client.requests() });
          else if (page === 'usage') await get().loadUsage(get().usage.granularity);
        });
      },

      async createToken(input) {
        const created = await guard(() => client.createToken(input));
        if (!created) return;
        set({ created: { what: 'tunnel token', secret: created.token!, note: created.registerProblem ?? null } });
        await get().refresh('tokens');
      },

      async createKey(input) {
        const created = await guard(() => client.createKey(input));
        if (!created) return;
        set({ created: { what: 'API key', secret: created.key!, note: null } });
        await get().refresh('keys');
      },

      async revoke(kind, id) {
        await guard(() => client.revoke(kind, id));
        await get().refresh(kind === 'tunnel-tokens' ? 'tokens' : get().page === 'devices' ? 'devices' : 'keys');
      },

      async loadUsage(granularity) {
        const to = Date.now();
        const from = to - WINDOW_MS[granularity];
        const range = `from=${Math.floor(from / 1000)}&to=${Math.ceil(to / 1000)}`;
        await guard(async () => {
          const [byDeployment, byKey] = await Promise.all([client.usage(`${range}&group_by=deployment,${granularity}`), client.usage(`${range}&group_by=key,${granularity}`)]);
          set({ usage: { granularity, byDeployment, byKey } });
        });
      },

      forgetCreated: () => set({ created: null }),
      setError: (error) => set({ error }),
    };
  });
}

export const DashboardContext = createContext<{ store: DashboardStore; client: DashboardClient } | null>(null);

export function useDashboard<T>(selector: (state: DashboardState) => T): T {
  const context = useContext(DashboardContext);
  if (!context) throw new Error('useDashboard outside DashboardContext');
  return useStore(context.store, selector);
}

export function useDashboardActions(): DashboardState {
  const context = useContext(DashboardContext);
  if (!context) throw new Error('useDashboardActions outside DashboardContext');
  return context.store.getState();
}

export function useDashboardClient(): DashboardClient {
  const context = useContext(DashboardContext);
  if (!context) throw new Error('useDashboardClient outside DashboardContext');
  return context.client;
}
