import { hostname } from 'node:os';
import type { HostedSignInEvent, HostedSignInStart } from '../../shared/api.js';
import { startDeviceSignIn, type DeviceSignIn } from '../gateway/device-sign-in.js';
import type { Logger } from '../logging/logger.js';

/**
 * "Use a hosted gateway" by signing in: starts the device grant against the URL (which
 * also proves it is a Tokios gateway — a wrong URL fails here and nothing changes), hands
 * the user code to the UI, and once the person approves it on the dashboard, gives the
 * credential to `complete`, which switches the app over (minting a tunnel token per
 * deployment and registering the names). One sign-in at a time; a new one cancels the last.
 */

export interface HostedSignInOptions {
  log: Logger;
  /** Switches to the gateway at `url` with `credential` (an admin key marked as this device). */
  complete: (url: string, credential: string) => Promise<void>;
  emit: (event: HostedSignInEvent) => void;
  /** Keeps the credential out of every log line. */
  protect: (secret: string) => void;
  clientName?: string;
}

export class HostedSignIn {
  private current: DeviceSignIn | null = null;

  constructor(private readonly options: HostedSignInOptions) {}

  async start(url: string): Promise<HostedSignInStart> {
    this.cancel();
    const signIn = await startDeviceSignIn(url, { clientName: this.options.clientName ?? `Tokios Desktop on ${hostname()}` });
    this.current = signIn;
    const { log, emit } = this.options;
    log.info(`signing in to ${url}: waiting for code ${signIn.userCode} to be approved on its dashboard`);
    signIn.result.then(
      async ({ credential, account }) => {
        if (this.current !== signIn) return;
        this.current = null;
        this.options.protect(credential);
        try {
          await this.options.complete(url, credential);
          emit({ state: 'signed-in', url, message: `Signed in to ${url}${account.email ? ` as ${account.email}` : ''}; your deployments now run there.` });
        } catch (error) {
          emit({ state: 'failed', url, message: `Signed in, but could not switch to ${url}: ${(error as Error).message}. The app still uses the gateway it used before.` });
        }
      },
      (error: Error) => {
        if (this.current !== signIn) return;
        this.current = null;
        emit({ state: 'failed', url, message: `Not signed in: ${error.message}.` });
      },
    );
    return { userCode: signIn.userCode, verificationUri: signIn.verificationUri, verificationUriComplete: signIn.verificationUriComplete, expiresAt: signIn.expiresAt };
  }

  cancel(): void {
    const signIn = this.current;
    this.current = null;
    signIn?.cancel();
  }
}
