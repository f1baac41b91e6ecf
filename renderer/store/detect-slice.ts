import type { StateCreator } from 'zustand';
import type { ApiClient, DetectedUpstream, ProbeResult } from '../../shared/api';
import { upstreamFromInput } from '../../shared/tokios-config';
import type { AppState } from './app-store';

/** Model servers found on this machine. */
export interface DetectSlice {
  upstreams: DetectedUpstream[];
  detectLoaded: boolean;
  scanning: boolean;
  loadDetected(): Promise<void>;
  rescan(): Promise<void>;
  /** Adds a server to look at; says what answered there. */
  addEndpoint(url: string): Promise<DetectedUpstream | null>;
  /** What answers at a URL being typed (nothing is kept). */
  probe(url: string): Promise<ProbeResult>;
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
        const upstreams = await api.call('detect.addEndpoint', { url });
        set({ upstreams });
        const normalized = upstreamFromInput(url, (problem) => new Error(problem));
        return upstreams.find((u) => u.url === normalized) ?? null;
      } finally {
        set({ scanning: false });
      }
    },
    probe: (url) => api.call('detect.probe', { url }),
    applyDetected(upstreams) {
      set({ upstreams, detectLoaded: true });
    },
  });
