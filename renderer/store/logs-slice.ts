import type { StateCreator } from 'zustand';
import type { ApiClient, LogLevel, LogLine, LogSource } from '../../shared/api';
import type { AppState } from './app-store';

/** The Logs view: recent lines of the app, its gateway and each worker, as they come. */

export const MAX_LOG_LINES = 3000;

export interface LogsSlice {
  logLines: LogLine[];
  logSources: LogSource[];
  logsLoaded: boolean;
  loadLogs(): Promise<void>;
  appendLogs(lines: LogLine[]): void;
}

export const createLogsSlice =
  (api: ApiClient): StateCreator<AppState, [], [], LogsSlice> =>
  (set) => ({
    logLines: [],
    logSources: [],
    logsLoaded: false,
    async loadLogs() {
      const { sources, lines } = await api.call('logs.list');
      set({ logSources: sources, logLines: lines.slice(-MAX_LOG_LINES), logsLoaded: true });
    },
    appendLogs(lines) {
      set((s) => {
        const known = s.logLines.at(-1)?.seq ?? 0;
        const fresh = lines.filter((l) => l.seq > known);
        return fresh.length ? { logLines: [...s.logLines, ...fresh].slice(-MAX_LOG_LINES) } : {};
      });
    },
  });

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Lines of `source` ('' for all) at `level` or worse, containing `text`. */
export function filterLogs(lines: ReadonlyArray<LogLine>, source: string, level: LogLevel, text: string): LogLine[] {
  const needle = text.trim().toLowerCase();
  return lines.filter((l) => (!source || l.source === source) && LEVELS[l.level] >= LEVELS[level] && (!needle || l.text.toLowerCase().includes(needle)));
}
