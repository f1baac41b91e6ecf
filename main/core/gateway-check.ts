import type { GatewayCheck } from '../../shared/api.js';
import { isTokiosError, TokiosError } from '../../shared/errors.js';
import { normalizeGatewayUrl } from '../../shared/tokios-config.js';
import type { DeploymentRecord } from '../deployments/deployment-store.js';
import { GatewayClient } from '../gateway/gateway-client.js';

/**
 * Before the app moves its deployments to another gateway: does it answer, is it a Tokios
 * gateway, does it take the API key, and what will clients and deployments lose. Only
 * reads (the health check and the deployment list); nothing changes anywhere.
 */

export interface CurrentGateway {
  mode: 'embedded' | 'remote';
  url: string;
}

export async function checkGateway(rawUrl: string, apiKey: string | null, current: CurrentGateway, deployments: ReadonlyArray<DeploymentRecord>): Promise<GatewayCheck> {
  const url = normalizeGatewayUrl(rawUrl.trim(), (problem) => new TokiosError('INVALID_ARGUMENT', `Gateway URL ${problem}.`));
  const client = new GatewayClient(url, 5000);
  const result: GatewayCheck = { url, reachable: false, version: null, keyAccepted: null, problem: null, consequences: [] };
  try {
    result.version = (await client.health()).version ?? null;
    result.reachable = true;
  } catch (error) {
    result.problem = isTokiosError(error) && error.code === 'GATEWAY_UNREACHABLE'
      ? `Nothing answers at ${url}. Check the address (and that the gateway is running); nothing was changed.`
      : `${url} answered, but not as a Tokios gateway does (${(error as Error).message}). Nothing was changed.`;
    return result;
  }
  if (apiKey) {
    try {
      await client.list(apiKey);
      result.keyAccepted = true;
    } catch (error) {
      if (!(isTokiosError(error) && (error.code === 'UNAUTHORIZED' || error.code === 'FORBIDDEN'))) throw error;
      result.keyAccepted = false;
      result.problem = error.code === 'FORBIDDEN'
        ? `${url} knows this API key, but it is a client key: the app needs an admin key there to create tunnel tokens and register names (tokios key create --scope admin), or sign in to that gateway instead.`
        : `${url} does not accept this API key. Paste an admin key that gateway issued (tokios key create --scope admin on that machine), or leave the field empty.`;
      return result;
    }
  }
  if (url === current.url) {
    result.problem = 'The app already uses this gateway.';
    return result;
  }

  const own = deployments.filter((d) => d.source === 'app');
  const minted = own.filter((d) => d.mintedFor);
  const pasted = own.filter((d) => !d.mintedFor);
  const names = (list: ReadonlyArray<DeploymentRecord>): string => list.map((d) => `'${d.name}'`).join(', ');
  result.consequences.push(
    current.mode === 'embedded'
      ? `Clients using ${current.url}/v1 (the built-in gateway on this machine) stop reaching your deployments. Point them at ${url}/v1, with an API key from that gateway.`
      : `Clients using ${current.url}/v1 stop reaching your deployments through this app. Point them at ${url}/v1.`,
  );
  if (minted.length) {
    result.consequences.push(apiKey
      ? `${names(minted)} get${minted.length === 1 ? 's' : ''} a new tunnel token from ${url}; the old one${minted.length === 1 ? '' : 's'} stay${minted.length === 1 ? 's' : ''} with the previous gateway.`
      : `${names(minted)} use${minted.length === 1 ? 's' : ''} a token this app created for the previous gateway, which ${url} will refuse. Give its API key so the app can create new ones, or paste tokens from it afterwards.`);
  }
  if (pasted.length) result.consequences.push(`${names(pasted)} keep${pasted.length === 1 ? 's' : ''} the token you pasted; it works only if ${url} issued it.`);
  const folder = deployments.filter((d) => d.source === 'folder');
  if (folder.length) result.consequences.push(`${names(folder)} from the config folder connect to ${url} with the tokens in their files.`);
  result.consequences.push('Each deployment keeps serving through the current gateway until its tunnel to the new one is up.');
  return result;
}
