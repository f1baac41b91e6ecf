import type { DeploymentView } from './tunnel-registry.js';

/**
 * The gateway's control API as one contract: each route with its request body and its
 * answer. The control plane answers with these types and the client reads them, so the
 * two cannot drift apart.
 */

export interface RegisterRequest {
  /** The deployment name clients will put in `model`. */
  name: string;
  /** The tunnel token to bind; required when authenticating with an API key. */
  token?: string;
}

export interface RegisteredDeployment {
  deployment: DeploymentView & { created: string; updated: string };
  created: boolean;
  /** The name was bound to another token before: its traffic moves (the swap). */
  swapped: boolean;
  /** The name this token served before, when the registration renamed it. */
  renamedFrom: string | null;
}

export interface ListedDeployment extends DeploymentView {
  tokenId: string;
  created: string;
  updated: string;
}

export interface ControlApi {
  'POST /v1/deployments': { body: RegisterRequest; answer: RegisteredDeployment };
  'GET /v1/deployments': { body: void; answer: { deployments: ListedDeployment[] } };
  'DELETE /v1/deployments/NAME': { body: void; answer: void };
  'POST /v1/tunnel-tokens': { body: void; answer: { id: string; token: string } };
  'POST /v1/api-keys': { body: void; answer: { id: string; key: string } };
  'GET /healthz': { body: void; answer: { status: 'ok'; version: string } };
}

export type ControlRoute = keyof ControlApi;
export type ControlAnswer<R extends ControlRoute> = ControlApi[R]['answer'];
export type ControlBody<R extends ControlRoute> = ControlApi[R]['body'];
