import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiEvent, ApiEvents, DeploymentView } from '../../shared/api.js';
import type { TunnelState } from '../../shared/health.js';
import { AppCore, type AppCoreOptions } from '../../main/core/app-core.js';
import { folderExportTarget } from '../../main/core/export-target.js';
import { createFileSecretStore } from '../../main/deployments/secret-store.js';
import { ChildProcessSpawner } from '../../main/supervisor/child-process-spawner.js';
import { REPO_ROOT, tempDir } from './processes.js';

/** The built worker entry: tests run real worker processes from dist/. */
export const BUILT_WORKER = join(REPO_ROOT, 'dist', 'main', 'connector', 'connector-worker.js');

/** A real AppCore (embedded gateway, real workers) in a temporary data folder, with `settings` as its settings.json. */
export async function startCore(overrides: Partial<AppCoreOptions> = {}, settings?: Record<string, unknown>): Promise<{ core: AppCore; dataDir: string; configDir: string; workerLines: string[]; close: () => Promise<void> }> {
  const dir = tempDir('tokios-core-');
  const dataDir = join(dir.path, 'data');
  const configDir = join(dir.path, 'connectors');
  if (settings) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'settings.json'), JSON.stringify(settings));
  }
  const workerLines: string[] = [];
  const core = new AppCore({
    dataDir,
    configDir,
    host: 'headless',
    secrets: createFileSecretStore(dataDir),
    spawner: new ChildProcessSpawner(BUILT_WORKER),
    gatewayPort: 0,
    detect: { urls: [], intervalMs: 60_000 },
    configStabilityMs: 100,
    stopTimeoutMs: 3000,
    workerOutput: (line) => workerLines.push(line),
    // The stand-in for the host's save dialog: the user picks a folder beside the data.
    exportTarget: folderExportTarget(join(dir.path, 'exports')),
    ...overrides,
  });
  await core.start();
  return {
    core, dataDir, configDir, workerLines,
    close: async () => {
      await core.stop();
      dir.remove();
    },
  };
}

/** Collects the core's events of one kind. */
export function record<E extends ApiEvent>(core: AppCore, event: E): ApiEvents[E][] {
  const seen: ApiEvents[E][] = [];
  core.on(event, (payload) => seen.push(payload));
  return seen;
}

/** Resolves when deployment `id` reaches `state`. */
export function waitForState(core: AppCore, id: string, state: TunnelState, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const current = core.deployments().find((d) => d.id === id);
    if (current?.health.state === state) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`deployment ${id} did not reach '${state}' within ${timeoutMs} ms (now '${core.deployments().find((d) => d.id === id)?.health.state}')`));
    }, timeoutMs);
    const off = core.on('deployment.state', (event) => {
      if (event.id === id && event.state === state) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}

/** Resolves with the first deployment matching `predicate` once it exists. */
export function waitForDeployment(core: AppCore, predicate: (d: DeploymentView) => boolean, timeoutMs = 10_000): Promise<DeploymentView> {
  return new Promise((resolve, reject) => {
    const found = core.deployments().find(predicate);
    if (found) return resolve(found);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no deployment matched within ${timeoutMs} ms: ${JSON.stringify(core.deployments().map((d) => [d.name, d.health.state, d.configError]))}`));
    }, timeoutMs);
    const off = core.on('deployment.updated', () => {
      const match = core.deployments().find(predicate);
      if (match) {
        clearTimeout(timer);
        off();
        resolve(match);
      }
    });
  });
}
