import type { StateCreator } from 'zustand';
import type { ApiClient, DetectedUpstream } from '../../shared/api';
import type { AppState } from './app-store';

/** Model servers found on this machine. */
export interface DetectSlice {
  upstreams: DetectedUpstream[];
  detectLoaded: boolean;
  scanning: boolean;
  loadDetected(): Promise<void>;
  rescan(): Promise<void>;
  addEndpoint(url: string): Promise<void>;
  applyDetected(upstreams: DetectedUpstream[]): void;
}

export const createDetectSlice =
  (api: ApiClient): StateCreator<AppState, [], [], DetectSlice> =>
  (set) => ({
    upstreams: [],
    detectLoaded: false,
    scanning: false,
    async loadDetected() {
      set({ upstreams: await api.call('detect.list'), detectLoaded: true });
    },
    async rescan() {
      set({ scanning: true });
      try {
        set({ upstreams: await api.call('detect.rescan'), detectLoaded: true });
      } finally {
        set({ scanning: false });
      }
    },
    async addEndpoint(url) {
      set({ scanning: true });
      try {
        set({ upstreams: await api.call('detect.addEndpoint', { url }) });
      } finally {
        set({ scanning: false });
      }
    },
    applyDetected(upstreams) {
      set({ upstreams, detectLoaded: true });
    },
  });
