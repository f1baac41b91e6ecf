import type { StateCreator } from 'zustand';
import type { ApiClient, DeploymentInput, DeploymentView, ExportResult, HealthSample, NameCheck } from '../../shared/api';
import type { DeploymentMember } from '../../shared/hosted-api';
import type { AppState } from './app-store';

/** Deployments: the list, each one's live health and chart history, and the actions on them. */

/** Chart points kept per deployment (one a second: 15 minutes). */
export const HISTORY_POINTS = 900;

export interface DeploymentsSlice {
  deployments: Record<string, DeploymentView>;
  order: string[];
  deploymentsLoaded: boolean;
  history: Record<string, HealthSample[]>;
  /** The connectors serving each deployment's name, as the gateway in use lists them (null: it does not say). */
  members: Record<string, DeploymentMember[] | null>;
  loadDeployments(): Promise<void>;
  loadMembers(id: string): Promise<void>;
  createDeployment(input: DeploymentInput): Promise<DeploymentView>;
  updateDeployment(id: string, changes: Partial<DeploymentInput>): Promise<DeploymentView>;
  removeDeployment(id: string): Promise<void>;
  setRunning(id: string, running: boolean): Promise<void>;
  retryDeployment(id: string): Promise<void>;
  startAll(): Promise<void>;
  stopAll(): Promise<void>;
  checkName(name: string, excludeId?: string): Promise<NameCheck>;
  checkToken(token: string): Promise<{ problem: string | null; known: boolean | null }>;
  loadHistory(id: string): Promise<void>;
  exportDeployment(id: string): Promise<ExportResult>;
  importDeployment(text: string, fileName: string, replace?: boolean): Promise<DeploymentView>;
  /** From transport events. */
  applyDeployment(view: DeploymentView): void;
  dropDeployment(id: string): void;
  addSample(id: string, sample: HealthSample): void;
}

export const createDeploymentsSlice =
  (api: ApiClient): StateCreator<AppState, [], [], DeploymentsSlice> =>
  (set, get) => ({
    deployments: {},
    order: [],
    deploymentsLoaded: false,
    history: {},
    members: {},
    async loadMembers(id) {
      const members = await api.call('deployments.members', { id });
      set((s) => ({ members: { ...s.members, [id]: members } }));
    },
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
    checkToken: (token) => api.call('deployments.checkToken', { token }),
    async loadHistory(id) {
      const history = await api.call('deployments.history', { id });
      set((s) => ({ history: { ...s.history, [id]: history } }));
    },
    exportDeployment: (id) => api.call('deployments.export', { id }),
    async importDeployment(text, fileName, replace) {
      const view = await api.call('deployments.import', { text, fileName, ...(replace ? { replace } : {}) });
      get().applyDeployment(view);
      return view;
    },
    applyDeployment(view) {
      set((s) => ({ deployments: { ...s.deployments, [view.id]: view }, order: s.order.includes(view.id) ? s.order : [...s.order, view.id] }));
    },
    dropDeployment(id) {
      set((s) => {
        const { [id]: _gone, ...rest } = s.deployments;
        const { [id]: _history, ...history } = s.history;
        return { deployments: rest, order: s.order.filter((o) => o !== id), history };
      });
    },
    addSample(id, sample) {
      set((s) => ({ history: { ...s.history, [id]: [...(s.history[id] ?? []), sample].slice(-HISTORY_POINTS) } }));
    },
  });
