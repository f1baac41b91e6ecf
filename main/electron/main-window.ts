import type { BrowserWindow, BrowserWindowConstructorOptions, Event as ElectronEvent, HandlerDetails, WebContents, WebFrameMain } from 'electron';

/**
 * The hardened main window: isolated, sandboxed, no Node in the page, no navigation away
 * from the app, no new windows (https links open in the user's browser instead), no
 * permission but the one the page uses, no webviews. Written against the few Electron
 * objects it touches so tests can hand it stand-ins.
 */

export interface WindowDeps {
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
  openExternal: (url: string) => void;
}

export interface MainWindowOptions {
  preload: string;
  /** The app page (a file:// URL of the built renderer). */
  pageUrl: string;
  icon?: string;
  /** The system's theme, so the window does not flash the other palette before the page paints. */
  dark?: boolean;
}

export function mainWindowOptions(options: MainWindowOptions): BrowserWindowConstructorOptions {
  return {
    width: 1100,
    height: 760,
    minWidth: 720,
    minHeight: 480,
    show: false,
    title: 'Tokios',
    backgroundColor: options.dark === false ? '#f5f6f8' : '#0e1014',
    ...(options.icon ? { icon: options.icon } : {}),
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
    },
  };
}

/** Same document, possibly another #fragment: the only navigation the window allows. */
export function isAppUrl(url: string, pageUrl: string): boolean {
  try {
    const a = new URL(url);
    const b = new URL(pageUrl);
    return a.protocol === b.protocol && a.host === b.host && a.pathname === b.pathname;
  } catch {
    return false;
  }
}

/** What the page uses: writing to the clipboard (the copy buttons). Everything else is refused. */
const PAGE_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

/** Whether `permission` may be granted to a frame at `requestingUrl`: only the app page's own, only what it uses. */
export function permissionAllowed(permission: string, requestingUrl: string | undefined, pageUrl: string): boolean {
  return PAGE_PERMISSIONS.has(permission) && requestingUrl !== undefined && isAppUrl(requestingUrl, pageUrl);
}

/** Installs the navigation, new-window, permission and webview guards on `contents`. */
export function hardenWebContents(contents: WebContents, pageUrl: string, openExternal: (url: string) => void): void {
  contents.on('will-navigate', (event: ElectronEvent, url: string) => {
    if (!isAppUrl(url, pageUrl)) event.preventDefault();
  });
  contents.on('will-redirect', (event: ElectronEvent, url: string) => {
    if (!isAppUrl(url, pageUrl)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event: ElectronEvent) => event.preventDefault());
  contents.setWindowOpenHandler((details: HandlerDetails) => {
    if (/^https:\/\//.test(details.url)) openExternal(details.url);
    return { action: 'deny' };
  });
  const { session } = contents;
  session.setPermissionRequestHandler((_contents, permission, callback, details) => callback(permissionAllowed(permission, details.requestingUrl, pageUrl)));
  session.setPermissionCheckHandler((_contents, permission, _origin, details) => permissionAllowed(permission, details.requestingUrl, pageUrl));
  session.setDevicePermissionHandler(() => false);
}

/** True for IPC from the app page's own top frame, and nothing else. */
export function isTrustedSender(frame: Pick<WebFrameMain, 'url'> | null | undefined, pageUrl: string, topFrame?: unknown): boolean {
  if (!frame) return false;
  if (topFrame !== undefined && frame !== topFrame) return false;
  return isAppUrl(frame.url, pageUrl);
}

export function createMainWindow(deps: WindowDeps, options: MainWindowOptions): BrowserWindow {
  const window = new deps.BrowserWindow(mainWindowOptions(options));
  hardenWebContents(window.webContents, options.pageUrl, deps.openExternal);
  window.once('ready-to-show', () => window.show());
  void window.loadURL(options.pageUrl);
  return window;
}
