import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeImage, nativeTheme, safeStorage, shell, Tray, utilityProcess } from 'electron';
import { AppCore } from '../core/app-core.js';
import { createEncryptedSecretStore } from '../deployments/secret-store.js';
import { installLastResortHandler } from '../logging/last-resort-handler.js';
import { Logger } from '../logging/logger.js';
import { ASSETS_DIR, RENDERER_DIR } from '../paths.js';
import { WORKER_ENTRY } from '../supervisor/child-process-spawner.js';
import { bindIpc } from './ipc-binding.js';
import { createMainWindow, isTrustedSender } from './main-window.js';
import { saveDialogExportTarget } from './save-dialog-export.js';
import { createTrayController } from './tray-controller.js';
import { TRAY_ICONS } from './tray-menu.js';
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
  let tray: { refresh(): void } | null = null;
  let quitting = false;
  let stopped = false;

  // Electron's default for an escaped error is a dialog per error and carrying on, however
  // broken. One bug is logged and the app carries on; a burst of them says it is broken:
  // the workers are drained, the user told, and the app exits.
  installLastResortHandler({
    log,
    beforeExit: async () => {
      await core?.stop();
      stopped = true;
    },
    exit: (code) => {
      dialog.showErrorBox('Tokios Desktop stopped', 'Tokios Desktop met repeated internal errors and closed rather than go on in a broken state. Start it again: its tunnels reconnect by themselves. If this keeps happening, please report it with the lines from its log.');
      app.exit(code);
    },
  });

  const showWindow = (): void => {
    if (!window || window.isDestroyed()) {
      window = createMainWindow({ BrowserWindow, openExternal: (url) => void shell.openExternal(url) }, { preload, pageUrl, icon: join(ASSETS_DIR, 'icon.png'), dark: nativeTheme.shouldUseDarkColors });
      window.on('close', (event) => {
        if (quitting) return;
        event.preventDefault(); // close-to-tray: tunnels stay up
        window?.hide();
      });
    }
    window.show();
    window.focus();
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
      exportTarget: saveDialogExportTarget({ dialog, window: () => (window && !window.isDestroyed() ? window : null), defaultDir: app.getPath('downloads') }),
      ...(detectUrls?.length ? { detect: { urls: detectUrls } } : {}),
      ...(gatewayPort !== undefined && Number.isInteger(gatewayPort) ? { gatewayPort } : {}),
    });
    bindIpc({
      ipcMain,
      core,
      isTrustedSender: (event) => isTrustedSender(event.senderFrame, pageUrl, window?.webContents.mainFrame),
      target: () => (window && !window.isDestroyed() ? window.webContents : null),
    });
    const live = core;
    const icon = new Tray(nativeImage.createFromPath(join(ASSETS_DIR, TRAY_ICONS.ok)));
    icon.on('click', showWindow);
    tray = createTrayController(
      { tray: icon, buildMenu: (template) => Menu.buildFromTemplate(template), image: (file) => nativeImage.createFromPath(join(ASSETS_DIR, file)) },
      () => live.deployments(),
      {
        toggle: (id, enabled) => void live.handlers[enabled ? 'deployments.start' : 'deployments.stop']({ id }),
        startAll: () => void live.handlers['deployments.startAll'](),
        stopAll: () => void live.handlers['deployments.stopAll'](),
        open: showWindow,
        quit: () => app.quit(),
      },
    );
    for (const event of ['deployment.updated', 'deployment.removed', 'deployment.state'] as const) core.on(event, () => tray?.refresh());
    await core.start();
    tray.refresh();
    showWindow();
  });
}
