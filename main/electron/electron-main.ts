import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, ipcMain, Menu, nativeImage, safeStorage, shell, Tray, utilityProcess } from 'electron';
import { AppCore } from '../core/app-core.js';
import { createEncryptedSecretStore } from '../deployments/secret-store.js';
import { Logger } from '../logging/logger.js';
import { ASSETS_DIR, RENDERER_DIR } from '../paths.js';
import { WORKER_ENTRY } from '../supervisor/child-process-spawner.js';
import { bindIpc } from './ipc-binding.js';
import { createMainWindow, isTrustedSender } from './main-window.js';
import { TRAY_ICONS, trayLevel, trayMenuTemplate, trayTooltip } from './tray-menu.js';
import { UtilityProcessSpawner } from './utility-process-spawner.js';

/**
 * The Electron entry: wiring only. Single instance, a hardened window that hides to the
 * tray on close, a tray reflecting the worst tunnel state, and a quit that waits for the
 * workers to drain.
 */

const log = new Logger('electron');
// Knobs for a second profile, non-default model server ports, and tests.
if (process.env.TOKIOS_DATA_DIR) app.setPath('userData', process.env.TOKIOS_DATA_DIR);
const detectUrls = process.env.TOKIOS_DETECT_URLS?.split(',').map((u) => u.trim()).filter(Boolean);
const gatewayPort = process.env.TOKIOS_GATEWAY_PORT ? Number(process.env.TOKIOS_GATEWAY_PORT) : undefined;
const pageUrl = pathToFileURL(join(RENDERER_DIR, 'index.html')).toString();
const preload = join(import.meta.dirname, 'preload.cjs');

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let core: AppCore | null = null;
  let window: BrowserWindow | null = null;
  let tray: Tray | null = null;
  let quitting = false;
  let stopped = false;

  const showWindow = (): void => {
    if (!window || window.isDestroyed()) {
      window = createMainWindow({ BrowserWindow, openExternal: (url) => void shell.openExternal(url) }, { preload, pageUrl, icon: join(ASSETS_DIR, 'icon.png') });
      window.on('close', (event) => {
        if (quitting) return;
        event.preventDefault(); // close-to-tray: tunnels stay up
        window?.hide();
      });
    }
    window.show();
    window.focus();
  };

  // Health arrives several times a second; the tray changes only when a name, a state or a
  // switch does.
  let shown = '';
  const refreshTray = (): void => {
    if (!tray || !core) return;
    const deployments = core.deployments();
    const signature = deployments.map((d) => `${d.id}:${d.name}:${d.health.state}:${d.enabled}`).join('|');
    if (signature === shown) return;
    shown = signature;
    tray.setImage(nativeImage.createFromPath(join(ASSETS_DIR, TRAY_ICONS[trayLevel(deployments)])));
    tray.setToolTip(trayTooltip(deployments));
    const live = core;
    tray.setContextMenu(
      Menu.buildFromTemplate(
        trayMenuTemplate(deployments, {
          toggle: (id, enabled) => void live.handlers[enabled ? 'deployments.start' : 'deployments.stop']({ id }),
          startAll: () => void live.handlers['deployments.startAll'](),
          stopAll: () => void live.handlers['deployments.stopAll'](),
          open: showWindow,
          quit: () => app.quit(),
        }),
      ),
    );
  };

  app.on('second-instance', showWindow);
  app.on('window-all-closed', () => {
    // Keep running in the tray.
  });
  app.on('before-quit', (event) => {
    quitting = true;
    if (stopped || !core) return;
    event.preventDefault();
    log.info('quitting: draining connectors');
    void core.stop().finally(() => {
      stopped = true;
      app.quit();
    });
  });

  void app.whenReady().then(async () => {
    const dataDir = app.getPath('userData');
    const secrets = createEncryptedSecretStore(dataDir, safeStorage);
    if (secrets.warning) log.warn(secrets.warning);
    core = new AppCore({
      dataDir, host: 'electron', secrets, spawner: new UtilityProcessSpawner(utilityProcess.fork, WORKER_ENTRY), log,
      ...(detectUrls?.length ? { detect: { urls: detectUrls } } : {}),
      ...(gatewayPort !== undefined && Number.isInteger(gatewayPort) ? { gatewayPort } : {}),
    });
    bindIpc({
      ipcMain,
      core,
      isTrustedSender: (event) => isTrustedSender(event.senderFrame, pageUrl, window?.webContents.mainFrame),
      target: () => (window && !window.isDestroyed() ? window.webContents : null),
    });
    for (const event of ['deployment.updated', 'deployment.removed', 'deployment.state'] as const) core.on(event, refreshTray);
    tray = new Tray(nativeImage.createFromPath(join(ASSETS_DIR, TRAY_ICONS.ok)));
    tray.on('click', showWindow);
    await core.start();
    refreshTray();
    showWindow();
  });
}
