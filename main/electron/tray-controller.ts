import type { Menu, MenuItemConstructorOptions, NativeImage, Tray } from 'electron';
import type { DeploymentView } from '../../shared/api.js';
import { TRAY_ICONS, trayLevel, trayMenuTemplate, trayTooltip, type TrayActions } from './tray-menu.js';

/**
 * Keeps the tray in step with the deployments: the icon of the worst state, a tooltip that
 * names it, and the menu with a start/stop toggle per tunnel. Health arrives several times
 * a second; the tray is rebuilt only when a name, a state or a switch changed. Written
 * against the few Electron objects it touches, so tests hand it stand-ins.
 */

export interface TrayDeps {
  tray: Pick<Tray, 'setImage' | 'setToolTip' | 'setContextMenu'>;
  buildMenu: (template: MenuItemConstructorOptions[]) => Menu;
  /** The icon file (from assets/) as an image. */
  image: (file: string) => NativeImage;
}

export function createTrayController(deps: TrayDeps, deployments: () => ReadonlyArray<DeploymentView>, actions: TrayActions): { refresh(): void } {
  let shown = '';
  return {
    refresh() {
      const list = deployments();
      const signature = list.map((d) => `${d.id}:${d.name}:${d.health.state}:${d.enabled}:${d.configError ? 1 : 0}`).join('|');
      if (signature === shown) return;
      shown = signature;
      deps.tray.setImage(deps.image(TRAY_ICONS[trayLevel(list)]));
      deps.tray.setToolTip(trayTooltip(list));
      deps.tray.setContextMenu(deps.buildMenu(trayMenuTemplate(list, actions)));
    },
  };
}
