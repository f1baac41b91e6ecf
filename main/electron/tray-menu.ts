import type { MenuItemConstructorOptions } from 'electron';
import type { DeploymentView } from '../../shared/api.js';
import { STATE_SEVERITY, stateWords } from '../../shared/health.js';

/**
 * What the tray shows: one of three icons for the worst state of all deployments, and a
 * menu with each deployment's state and a start/stop toggle, start all, stop all, open
 * window, quit. Pure functions; the glue turns them into a Tray and a Menu.
 */

export type TrayLevel = 'ok' | 'warn' | 'error';

export const TRAY_ICONS: Record<TrayLevel, string> = { ok: 'tray-ok.png', warn: 'tray-warn.png', error: 'tray-error.png' };

export function trayLevel(deployments: ReadonlyArray<Pick<DeploymentView, 'health' | 'enabled' | 'configError'>>): TrayLevel {
  let worst = 0;
  for (const d of deployments) {
    const severity = d.configError && !d.enabled ? 4 : STATE_SEVERITY[d.health.state];
    worst = Math.max(worst, severity);
  }
  return worst >= 4 ? 'error' : worst >= 2 ? 'warn' : 'ok';
}

/** The deployment in the worst state, when one needs attention (the tray names it). */
export function worstDeployment(deployments: ReadonlyArray<DeploymentView>): DeploymentView | null {
  let worst: DeploymentView | null = null;
  for (const d of deployments) if (STATE_SEVERITY[d.health.state] >= 2 && (!worst || STATE_SEVERITY[d.health.state] > STATE_SEVERITY[worst.health.state])) worst = d;
  return worst;
}

export function trayTooltip(deployments: ReadonlyArray<DeploymentView>): string {
  if (deployments.length === 0) return 'Tokios: no deployments';
  const online = deployments.filter((d) => d.health.state === 'online').length;
  const worst = worstDeployment(deployments);
  return `Tokios: ${online} of ${deployments.length} online${worst ? ` · ${worst.name}: ${stateWords(worst.health.state)}` : ''}`;
}

export interface TrayActions {
  toggle(id: string, enabled: boolean): void;
  startAll(): void;
  stopAll(): void;
  open(): void;
  quit(): void;
}

export function trayMenuTemplate(deployments: ReadonlyArray<DeploymentView>, actions: TrayActions): MenuItemConstructorOptions[] {
  const items: MenuItemConstructorOptions[] = deployments
    .filter((d) => !d.id.startsWith('file:'))
    .map((d) => ({
      label: `${d.name} — ${stateWords(d.health.state)}`,
      type: 'checkbox' as const,
      checked: d.enabled && d.health.state !== 'stopped',
      toolTip: d.health.lastError?.message ?? d.upstream,
      click: () => actions.toggle(d.id, !(d.enabled && d.health.state !== 'stopped')),
    }));
  if (items.length === 0) items.push({ label: 'No deployments yet', enabled: false });
  return [
    { label: trayTooltip(deployments).replace(/^Tokios: /, ''), enabled: false },
    { type: 'separator' },
    ...items,
    { type: 'separator' },
    { label: 'Start all', click: () => actions.startAll(), enabled: deployments.length > 0 },
    { label: 'Stop all', click: () => actions.stopAll(), enabled: deployments.length > 0 },
    { type: 'separator' },
    { label: 'Open Tokios', click: () => actions.open() },
    { label: 'Quit Tokios', role: 'quit', click: () => actions.quit() },
  ];
}
