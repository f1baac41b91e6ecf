import { EventEmitter } from 'node:events';
import type { BrowserWindowConstructorOptions } from 'electron';
import { describe, expect, it, vi } from 'vitest';
import type { ApiHandlers, DeploymentView } from '../../shared/api.js';
import type { TunnelState } from '../../shared/health.js';
import { bindIpc, CALL_CHANNEL, EVENT_CHANNEL } from './ipc-binding.js';
import { createMainWindow, isTrustedSender } from './main-window.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../e2e/support/processes.js';
import { saveDialogExportTarget } from './save-dialog-export.js';
import { createTrayController } from './tray-controller.js';
import { trayLevel, trayMenuTemplate, trayTooltip } from './tray-menu.js';

/** The Electron glue against stand-ins for the few Electron objects it touches. */

const PAGE = 'file:///opt/Tokios/resources/app.asar/dist/renderer/index.html';

class FakeWebContents extends EventEmitter {
  openHandler: ((details: { url: string }) => { action: string }) | null = null;
  permissionHandler: ((c: unknown, p: string, cb: (ok: boolean) => void, details: { requestingUrl?: string }) => void) | null = null;
  checkHandler: ((c: unknown, p: string, origin: string, details: { requestingUrl?: string }) => boolean) | null = null;
  deviceHandler: ((details: unknown) => boolean) | null = null;
  session = {
    setPermissionRequestHandler: (h: FakeWebContents['permissionHandler']) => (this.permissionHandler = h),
    setPermissionCheckHandler: (h: FakeWebContents['checkHandler']) => (this.checkHandler = h),
    setDevicePermissionHandler: (h: FakeWebContents['deviceHandler']) => (this.deviceHandler = h),
  };
  setWindowOpenHandler(h: FakeWebContents['openHandler']): void {
    this.openHandler = h;
  }
}

class FakeBrowserWindow extends EventEmitter {
  static last: FakeBrowserWindow;
  webContents = new FakeWebContents();
  loaded: string | null = null;
  constructor(readonly options: BrowserWindowConstructorOptions) {
    super();
    FakeBrowserWindow.last = this;
  }
  loadURL(url: string): Promise<void> {
    this.loaded = url;
    return Promise.resolve();
  }
  show(): void {}
}

function openWindow(): { window: FakeBrowserWindow; opened: string[] } {
  const opened: string[] = [];
  createMainWindow({ BrowserWindow: FakeBrowserWindow as never, openExternal: (url) => opened.push(url) }, { preload: '/app/preload.cjs', pageUrl: PAGE });
  return { window: FakeBrowserWindow.last, opened };
}

function navigate(contents: FakeWebContents, event: string, url: string): boolean {
  let prevented = false;
  contents.emit(event, { preventDefault: () => (prevented = true) }, url);
  return prevented;
}

describe('main window', () => {
  it('is isolated and sandboxed, with no Node in the page', () => {
    const { window } = openWindow();
    expect(window.options.webPreferences).toMatchObject({
      preload: '/app/preload.cjs', contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInSubFrames: false,
      webSecurity: true, allowRunningInsecureContent: false, webviewTag: false,
    });
    expect(window.loaded).toBe(PAGE);
  });

  it('refuses navigation away from the app page and webviews', () => {
    const { window } = openWindow();
    const contents = window.webContents;
    expect(navigate(contents, 'will-navigate', 'https://evil.example/')).toBe(true);
    expect(navigate(contents, 'will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(navigate(contents, 'will-redirect', 'http://127.0.0.1:8787/')).toBe(true);
    expect(navigate(contents, 'will-navigate', `${PAGE}#/deployments`)).toBe(false);
    let blocked = false;
    contents.emit('will-attach-webview', { preventDefault: () => (blocked = true) });
    expect(blocked).toBe(true);
  });

  it('denies every new window; https links go to the browser, nothing else does', () => {
    const { window, opened } = openWindow();
    const handler = window.webContents.openHandler!;
    for (const url of ['https://ollama.com/download', 'http://insecure.example/', 'file:///etc/passwd', 'javascript:alert(1)']) {
      expect(handler({ url })).toEqual({ action: 'deny' });
    }
    expect(opened).toEqual(['https://ollama.com/download']);
  });

  it('grants the page only the clipboard write its copy buttons use, and nothing to anyone else', () => {
    const { window } = openWindow();
    const contents = window.webContents;
    const asked = (permission: string, requestingUrl: string): boolean => {
      let granted: boolean | null = null;
      contents.permissionHandler!(null, permission, (ok) => (granted = ok), { requestingUrl });
      return granted!;
    };
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read', 'fullscreen']) {
      expect(asked(permission, PAGE), permission).toBe(false);
      expect(contents.checkHandler!(null, permission, 'file://', { requestingUrl: PAGE }), permission).toBe(false);
    }
    expect(asked('clipboard-sanitized-write', PAGE)).toBe(true);
    expect(contents.checkHandler!(null, 'clipboard-sanitized-write', 'file://', { requestingUrl: PAGE })).toBe(true);
    expect(asked('clipboard-sanitized-write', 'https://evil.example/')).toBe(false);
    expect(contents.checkHandler!(null, 'clipboard-sanitized-write', 'https://evil.example', { requestingUrl: 'https://evil.example/' })).toBe(false);
    expect(contents.deviceHandler!({ deviceType: 'usb' })).toBe(false);
  });
});

describe('IPC binding', () => {
  const top = { url: PAGE };
  const handlers = { 'deployments.start': vi.fn(async ({ id }: { id: string }) => ({ id })) } as unknown as ApiHandlers;
  const events = new EventEmitter();
  const core = { handlers, on: (event: string, listener: (p: unknown) => void) => (events.on(event, listener), () => events.off(event, listener)) };

  function bind(): { invoke: (frame: unknown, method: unknown, args: unknown) => Promise<unknown>; sent: unknown[][] } {
    let handler: ((event: unknown, method: unknown, args: unknown) => Promise<unknown>) | null = null;
    const sent: unknown[][] = [];
    bindIpc({
      ipcMain: { handle: (channel: string, h: never) => (expect(channel).toBe(CALL_CHANNEL), (handler = h)), removeHandler: () => undefined } as never,
      core: core as never,
      isTrustedSender: (event) => isTrustedSender((event as unknown as { senderFrame: { url: string } }).senderFrame, PAGE, top),
      target: () => ({ send: (...args: unknown[]) => void sent.push(args), isDestroyed: () => false }) as never,
    });
    return { invoke: (frame, method, args) => handler!({ senderFrame: frame }, method, args), sent };
  }

  it('answers the app page, checking arguments', async () => {
    const { invoke } = bind();
    expect(await invoke(top, 'deployments.start', { id: 'abc' })).toEqual({ ok: true, result: { id: 'abc' } });
    expect(await invoke(top, 'deployments.start', { id: 42 })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', message: 'deployments.start.id must be a string' } });
    expect(await invoke(top, 'shell.exec', {})).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('refuses other frames and other pages', async () => {
    const { invoke } = bind();
    const calls = (handlers['deployments.start'] as unknown as ReturnType<typeof vi.fn>).mock.calls.length;
    for (const frame of [{ url: 'https://evil.example/' }, { url: PAGE }, null]) {
      expect(await invoke(frame, 'deployments.start', { id: 'abc' })).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    }
    expect((handlers['deployments.start'] as unknown as ReturnType<typeof vi.fn>).mock.calls.length).toBe(calls);
  });

  it('forwards core events to the window', () => {
    const { sent } = bind();
    events.emit('deployment.removed', { id: 'x' });
    expect(sent).toContainEqual([EVENT_CHANNEL, 'deployment.removed', { id: 'x' }]);
  });
});

describe('tray', () => {
  const d = (state: TunnelState, name: string = state, enabled = state !== 'stopped'): DeploymentView => ({ id: name, name, enabled, configError: null, upstream: 'http://x', health: { state } } as DeploymentView);

  it('shows the worst state in one of three icons', () => {
    expect(trayLevel([])).toBe('ok');
    expect(trayLevel([d('online'), d('stopped')])).toBe('ok');
    expect(trayLevel([d('online'), d('reconnecting')])).toBe('warn');
    expect(trayLevel([d('online'), d('reconnecting'), d('crash-looping')])).toBe('error');
    expect(trayLevel([d('token-rejected')])).toBe('error');
  });

  it('lists each deployment with its state and a toggle, then start all, stop all, open, quit', () => {
    const toggled: Array<[string, boolean]> = [];
    const menu = trayMenuTemplate([d('online', 'gemma'), d('stopped', 'llama')], {
      toggle: (id, on) => toggled.push([id, on]), startAll: () => undefined, stopAll: () => undefined, open: () => undefined, quit: () => undefined,
    });
    expect(menu.map((m) => m.label ?? m.type)).toEqual(['1 of 2 online', 'separator', 'gemma — online', 'llama — stopped', 'separator', 'Start all', 'Stop all', 'separator', 'Open Tokios', 'Quit Tokios']);
    (menu[2]!.click as () => void)();
    (menu[3]!.click as () => void)();
    expect(toggled).toEqual([['gemma', false], ['llama', true]]);
  });

  it('names the deployment in the worst state', () => {
    expect(trayTooltip([d('online', 'a'), d('upstream-down', 'b'), d('reconnecting', 'c')])).toBe('Tokios: 1 of 3 online · b: model server down');
    expect(trayTooltip([d('online', 'a'), d('stopped', 'b')])).toBe('Tokios: 1 of 2 online');
  });

  it('follows the deployments: icon, tooltip and toggles change with their states, and only then', () => {
    const images: string[] = [];
    const tips: string[] = [];
    const menus: Array<Array<{ label?: string; checked?: boolean; click?: () => void }>> = [];
    let list = [d('online', 'gemma'), d('online', 'llama')];
    const calls: string[] = [];
    const controller = createTrayController(
      {
        tray: { setImage: (i: unknown) => void images.push(String(i)), setToolTip: (t: string) => void tips.push(t), setContextMenu: (m: unknown) => void menus.push(m as never) } as never,
        buildMenu: (template) => template as never,
        image: (file) => file as never,
      },
      () => list,
      { toggle: (id, on) => calls.push(`${on ? 'start' : 'stop'} ${id}`), startAll: () => calls.push('start all'), stopAll: () => calls.push('stop all'), open: () => undefined, quit: () => undefined },
    );
    controller.refresh();
    controller.refresh(); // nothing changed: nothing rebuilt
    expect(images).toEqual(['tray-ok.png']);
    list = [d('online', 'gemma'), d('crash-looping', 'llama', true)];
    controller.refresh();
    expect(images.at(-1)).toBe('tray-error.png');
    expect(tips.at(-1)).toBe('Tokios: 1 of 2 online · llama: keeps crashing');
    const toggles = menus.at(-1)!.filter((item) => item.label?.includes(' — '));
    expect(toggles.map((t) => [t.label, t.checked])).toEqual([['gemma — online', true], ['llama — keeps crashing', true]]);
    toggles[0]!.click!();
    list = [d('stopped', 'gemma'), d('crash-looping', 'llama', true)];
    controller.refresh();
    menus.at(-1)!.find((item) => item.label === 'gemma — stopped')!.click!();
    expect(calls).toEqual(['stop gemma', 'start gemma']);
    list = [d('stopped', 'gemma'), d('reconnecting', 'llama')];
    controller.refresh();
    expect(images.at(-1)).toBe('tray-warn.png');
  });
});

describe('export through the save dialog', () => {
  it('writes where the user chose, owner-only; writes nothing when they cancel', async () => {
    const dir = tempDir('tokios-save-');
    try {
      const asked: Array<{ defaultPath?: string }> = [];
      let answer: { canceled: boolean; filePath?: string } = { canceled: false, filePath: join(dir.path, 'chosen.json') };
      const target = saveDialogExportTarget({
        dialog: { showSaveDialog: (async (...args: unknown[]) => (asked.push(args.at(-1) as { defaultPath?: string }), answer)) as never },
        window: () => null,
        defaultDir: '/home/someone/Downloads',
      });
      expect(await target.deliver('tokios-gemma.json', '{"x":1}\n')).toEqual({ outcome: 'saved', path: join(dir.path, 'chosen.json') });
      expect(asked[0]!.defaultPath).toBe('/home/someone/Downloads/tokios-gemma.json');
      expect(readFileSync(join(dir.path, 'chosen.json'), 'utf8')).toBe('{"x":1}\n');
      expect(statSync(join(dir.path, 'chosen.json')).mode & 0o777).toBe(0o600);
      answer = { canceled: true };
      expect(await target.deliver('tokios-other.json', 'secret')).toBeNull();
      expect(existsSync(join(dir.path, 'tokios-other.json'))).toBe(false);
    } finally {
      dir.remove();
    }
  });
});
