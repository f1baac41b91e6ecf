import type { StateCreator } from 'zustand';
import type { ApiClient, AppInfo, GatewayCheck, GatewayInfo } from '../../shared/api';
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
  });
