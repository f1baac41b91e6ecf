import type { StateCreator } from 'zustand';
import type { ApiClient, DeploymentInput, DeploymentView, ExportResult, HealthSample, NameCheck } from '../../shared/api';
import type { RequestRecord } from '../../shared/health';
import type { AppState } from './app-store';

/** Deployments: the list, each one's live health, and the actions on them. */

/** tokens/s points for the list's sparklines, one every SPARK_EVERY_MS at most. */
export const SPARK_POINTS = 30;
const SPARK_EVERY_MS = 2000;

export interface DeploymentsSlice {
  deployments: Record<string, DeploymentView>;
  order: string[];
  deploymentsLoaded: boolean;
  spark: Record<string, number[]>;
  sparkAt: Record<string, number>;
  requests: Record<string, RequestRecord[]>;
  history: Record<string, HealthSample[]>;
  loadDeployments(): Promise<void>;
  createDeployment(input: DeploymentInput): Promise<DeploymentView>;
  updateDeployment(id: string, changes: Partial<DeploymentInput>): Promise<DeploymentView>;
  removeDeployment(id: string): Promise<void>;
  setRunning(id: string, running: boolean): Promise<void>;
  retryDeployment(id: string): Promise<void>;
  startAll(): Promise<void>;
  stopAll(): Promise<void>;
  checkName(name: string, excludeId?: string): Promise<NameCheck>;
  loadDetail(id: string): Promise<void>;
  exportDeployment(id: string, path?: string): Promise<ExportResult>;
  importDeployment(text: string, fileName: string, replace?: boolean): Promise<DeploymentView>;
  /** From transport events. */
  applyDeployment(view: DeploymentView): void;
  dropDeployment(id: string): void;
  addRequest(id: string, record: RequestRecord): void;
}

export const createDeploymentsSlice =
  (api: ApiClient): StateCreator<AppState, [], [], DeploymentsSlice> =>
  (set, get) => ({
    deployments: {},
    order: [],
    deploymentsLoaded: false,
    spark: {},
    sparkAt: {},
    requests: {},
    history: {},
    async loadDeployments() {
      const list = await api.call('deployments.list');
      set({ deployments: Object.fromEntries(list.map((d) => [d.id, d])), order: list.map((d) => d.id), deploymentsLoaded: true });
    },
    async createDeployment(input) {
      const view = await api.call('deployments.create', input);
      get().applyDeployment(view);
      return view;
    },
    async updateDeployment(id, changes) {
      const view = await api.call('deployments.update', { id, changes });
      get().applyDeployment(view);
      return view;
    },
    async removeDeployment(id) {
      await api.call('deployments.remove', { id });
      get().dropDeployment(id);
    },
    async setRunning(id, running) {
      get().applyDeployment(await api.call(running ? 'deployments.start' : 'deployments.stop', { id }));
    },
    async retryDeployment(id) {
      get().applyDeployment(await api.call('deployments.retry', { id }));
    },
    async startAll() {
      await api.call('deployments.startAll');
    },
    async stopAll() {
      await api.call('deployments.stopAll');
    },
    checkName: (name, excludeId) => api.call('deployments.checkName', excludeId ? { name, excludeId } : { name }),
    async loadDetail(id) {
      const [requests, history] = await Promise.all([api.call('deployments.requests', { id }), api.call('deployments.history', { id })]);
      set((s) => ({ requests: { ...s.requests, [id]: requests }, history: { ...s.history, [id]: history } }));
    },
    exportDeployment: (id, path) => api.call('deployments.export', path ? { id, path } : { id }),
    async importDeployment(text, fileName, replace) {
      const view = await api.call('deployments.import', { text, fileName, ...(replace ? { replace } : {}) });
      get().applyDeployment(view);
      return view;
    },
    applyDeployment(view) {
      set((s) => {
        const now = Date.now();
        const due = now - (s.sparkAt[view.id] ?? 0) >= SPARK_EVERY_MS;
        const series = s.spark[view.id] ?? [];
        return {
          deployments: { ...s.deployments, [view.id]: view },
          order: s.order.includes(view.id) ? s.order : [...s.order, view.id],
          ...(due
            ? { spark: { ...s.spark, [view.id]: [...series, view.health.tokensPerSecond ?? 0].slice(-SPARK_POINTS) }, sparkAt: { ...s.sparkAt, [view.id]: now } }
            : {}),
        };
      });
    },
    dropDeployment(id) {
      set((s) => {
        const { [id]: _gone, ...rest } = s.deployments;
        return { deployments: rest, order: s.order.filter((o) => o !== id) };
      });
    },
    addRequest(id, record) {
      set((s) => ({ requests: { ...s.requests, [id]: [record, ...(s.requests[id] ?? [])].slice(0, 200) } }));
    },
  });
