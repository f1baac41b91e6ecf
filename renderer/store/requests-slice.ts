import type { StateCreator } from 'zustand';
import type { ApiClient, InspectedRequest } from '../../shared/api';
import type { AppState } from './app-store';

/** The request inspector: every request through the gateway (refused ones too), newest first. */

export const MAX_REQUESTS = 1000;

export type StatusFilter = 'all' | 'ok' | 'errors';

export interface RequestFilter {
  text: string;
  status: StatusFilter;
  /** A deployment id, or '' for all. */
  deploymentId: string;
}

export interface RequestsSlice {
  inspected: InspectedRequest[];
  requestsLoaded: boolean;
  requestFilter: RequestFilter;
  loadRequests(): Promise<void>;
  setRequestFilter(changes: Partial<RequestFilter>): void;
  /** From the 'request.logged' event: a new request, or more about a known one. */
  applyRequest(request: InspectedRequest): void;
}

export const createRequestsSlice =
  (api: ApiClient): StateCreator<AppState, [], [], RequestsSlice> =>
  (set) => ({
    inspected: [],
    requestsLoaded: false,
    requestFilter: { text: '', status: 'all', deploymentId: '' },
    async loadRequests() {
      const list = await api.call('requests.list', {});
      set({ inspected: list, requestsLoaded: true });
    },
    setRequestFilter(changes) {
      set((s) => ({ requestFilter: { ...s.requestFilter, ...changes } }));
    },
    applyRequest(request) {
      set((s) => {
        const at = s.inspected.findIndex((r) => r.id === request.id);
        if (at === -1) return { inspected: [request, ...s.inspected].slice(0, MAX_REQUESTS) };
        const next = [...s.inspected];
        next[at] = request;
        return { inspected: next };
      });
    },
  });

/** Whether the status is a failure the user should look at (a client that left is not). */
export function isFailure(request: InspectedRequest): boolean {
  return request.status >= 400 && request.status !== 499;
}

/** The requests the inspector shows for `filter`. */
export function filterRequests(list: ReadonlyArray<InspectedRequest>, filter: RequestFilter): InspectedRequest[] {
  const text = filter.text.trim().toLowerCase();
  return list.filter((r) => {
    if (filter.deploymentId && r.deploymentId !== filter.deploymentId) return false;
    if (filter.status === 'errors' && !isFailure(r)) return false;
    if (filter.status === 'ok' && isFailure(r)) return false;
    if (!text) return true;
    return [r.path, r.deployment ?? '', String(r.status), r.client ?? '', r.errorCode ?? '', r.error ?? '', r.upstreamModel ?? '', r.requestId ?? ''].some((field) => field.toLowerCase().includes(text));
  });
}
