// The page's only door to the app: a two-function API, never raw ipcRenderer.
// (A sandboxed preload must be CommonJS, hence .cts.)
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a .cts preload is CommonJS; this is its import form
import electron = require('electron');

const CALL_CHANNEL = 'tokios:call';
const EVENT_CHANNEL = 'tokios:event';

electron.contextBridge.exposeInMainWorld('tokiosBridge', {
  call: (method: string, args: unknown): Promise<unknown> => electron.ipcRenderer.invoke(CALL_CHANNEL, method, args),
  onEvent: (listener: (event: string, payload: unknown) => void): (() => void) => {
    const forward = (_event: unknown, name: string, payload: unknown): void => listener(name, payload);
    electron.ipcRenderer.on(EVENT_CHANNEL, forward);
    return () => electron.ipcRenderer.removeListener(EVENT_CHANNEL, forward);
  },
});
