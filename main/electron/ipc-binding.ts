import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import type { ApiHandlers, CallOutcome } from '../../shared/api.js';
import { TokiosError, toErrorData } from '../../shared/errors.js';
import { dispatch, forwardEvents, type EventSource } from '../core/api-dispatch.js';

/**
 * Carries the typed API over Electron IPC: one invoke channel for calls, one channel for
 * events. Every call is checked to come from the app page's own top frame (VS Code's
 * validatedIpcMain), then validated and dispatched like the headless transport does.
 */

export const CALL_CHANNEL = 'tokios:call';
export const EVENT_CHANNEL = 'tokios:event';

export interface IpcBindingOptions {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  core: { handlers: ApiHandlers } & EventSource;
  /** Whether an invoke came from a frame allowed to drive the app. */
  isTrustedSender: (event: IpcMainInvokeEvent) => boolean;
  /** Where events go (the main window's webContents, while it exists). */
  target: () => Pick<WebContents, 'send' | 'isDestroyed'> | null;
}

export function bindIpc(options: IpcBindingOptions): () => void {
  const { ipcMain, core, isTrustedSender, target } = options;
  ipcMain.handle(CALL_CHANNEL, async (event: IpcMainInvokeEvent, method: unknown, args: unknown): Promise<CallOutcome> => {
    if (!isTrustedSender(event)) {
      return { ok: false, error: toErrorData(new TokiosError('UNAUTHORIZED', 'IPC from an untrusted frame was refused')) };
    }
    return dispatch(core.handlers, method, args);
  });
  const stop = forwardEvents(core, (name, payload) => {
    const contents = target();
    if (contents && !contents.isDestroyed()) contents.send(EVENT_CHANNEL, name, payload);
  });
  return () => {
    ipcMain.removeHandler(CALL_CHANNEL);
    stop();
  };
}
