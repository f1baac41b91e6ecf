import type { StateCreator } from 'zustand';
import type { ApiClient, AppInfo, GatewayCheck, GatewayInfo, HostedSignInEvent, HostedSignInStart } from '../../shared/api';
import type { AppState } from './app-store';

/** The gateway clients use, and the app's own facts. The API key itself is never kept here. */
export interface GatewaySlice {
  gateway: GatewayInfo | null;
  app: AppInfo | null;
  loadGateway(): Promise<void>;
  /** Asks the core for the key, hands it to `use` (the clipboard), and keeps nothing. */
  withApiKey(use: (key: string) => Promise<void>): Promise<void>;
  /** What switching would mean; changes nothing. */
  verifyGateway(url: string, apiKey: string | null): Promise<GatewayCheck>;
  useRemoteGateway(url: string, apiKey: string | null): Promise<void>;
  useEmbeddedGateway(): Promise<void>;
  rotateApiKey(): Promise<void>;
  applyGateway(info: GatewayInfo): void;
  applyApp(info: AppInfo): void;
  /** A hosted gateway's sign-in waiting for approval, and how the last one ended. */
  signIn: { pending: (HostedSignInStart & { url: string }) | null; outcome: HostedSignInEvent | null };
  startSignIn(url: string): Promise<void>;
  cancelSignIn(): Promise<void>;
  applySignIn(event: HostedSignInEvent): void;
}

export const createGatewaySlice =
  (api: ApiClient): StateCreator<AppState, [], [], GatewaySlice> =>
  (set) => ({
    gateway: null,
    app: null,
    async loadGateway() {
      const [gateway, app] = await Promise.all([api.call('gateway.info'), api.call('app.info')]);
      set({ gateway, app });
    },
    async withApiKey(use) {
      const { apiKey } = await api.call('gateway.revealApiKey');
      await use(apiKey);
    },
    verifyGateway: (url, apiKey) => api.call('gateway.verify', { url, apiKey }),
    async rotateApiKey() {
      set({ gateway: await api.call('gateway.rotateApiKey') });
    },
    async useRemoteGateway(url, apiKey) {
      set({ gateway: await api.call('gateway.useRemote', { url, apiKey }) });
    },
    async useEmbeddedGateway() {
      set({ gateway: await api.call('gateway.useEmbedded') });
    },
    applyGateway(info) {
      set({ gateway: info });
    },
    applyApp(info) {
      set({ app: info });
    },
    signIn: { pending: null, outcome: null },
    async startSignIn(url) {
      set({ signIn: { pending: null, outcome: null } });
      const started = await api.call('gateway.signIn', { url });
      set({ signIn: { pending: { ...started, url }, outcome: null } });
    },
    async cancelSignIn() {
      await api.call('gateway.cancelSignIn');
      set({ signIn: { pending: null, outcome: null } });
    },
    applySignIn(event) {
      set({ signIn: { pending: null, outcome: event } });
    },
  });
