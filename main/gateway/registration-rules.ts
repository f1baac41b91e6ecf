import { TokiosError } from '../../shared/errors.js';
import { deploymentTokens, type DeploymentRecord, type RegisterOptions, type RegisterResult } from './gateway-store.js';

/**
 * What a registration does to an account's bindings, as one pure function every store
 * applies inside its own transaction (so the file store and the database store cannot
 * disagree): bind a free name; renew a token's own; the swap (the name's tokens are
 * replaced) or joining its pool (the token is added beside them), both admin only; and a
 * token bound elsewhere leaves that name first, since a token serves one name at a time.
 */
export function applyRegistration(
  current: readonly DeploymentRecord[],
  accountId: string,
  name: string,
  tokenId: string,
  options: RegisterOptions,
  now: string,
): { next: DeploymentRecord[]; result: RegisterResult } {
  let next = current.map((d) => ({ ...d, ...(d.pool ? { pool: [...d.pool] } : {}) }));
  const existing = next.find((d) => d.name === name);
  const tokens = existing ? deploymentTokens(existing) : [];
  if (existing && !tokens.includes(tokenId) && !options.allowMove) {
    throw new TokiosError('FORBIDDEN', `'${name}' is bound to another tunnel token; ${options.pool ? 'adding a token to its pool' : 'moving it (the swap)'} needs an admin credential`);
  }
  // A token serves one name: leaving another name hands it to the rest of that name's pool.
  let renamedFrom: string | null = null;
  const other = next.find((d) => d.name !== name && deploymentTokens(d).includes(tokenId));
  if (other) {
    renamedFrom = other.name;
    const rest = deploymentTokens(other).filter((t) => t !== tokenId);
    if (rest.length === 0) next = next.filter((d) => d !== other);
    else setTokens(other, rest, now);
  }
  const done = (deployment: DeploymentRecord, extra: Pick<RegisterResult, 'previousTokenId' | 'created' | 'pooled'>): { next: DeploymentRecord[]; result: RegisterResult } => ({
    next,
    result: { deployment: { ...deployment, ...(deployment.pool ? { pool: [...deployment.pool] } : {}) }, renamedFrom, ...extra },
  });
  if (!existing) {
    const record: DeploymentRecord = { accountId, name, tokenId, created: now, updated: now };
    next.push(record);
    return done(record, { previousTokenId: null, created: true, pooled: false });
  }
  if (tokens.includes(tokenId)) return done(existing, { previousTokenId: null, created: false, pooled: false });
  if (options.pool) {
    setTokens(existing, [...tokens, tokenId], now);
    return done(existing, { previousTokenId: null, created: false, pooled: true });
  }
  const previousTokenId = existing.tokenId;
  setTokens(existing, [tokenId], now);
  return done(existing, { previousTokenId, created: false, pooled: false });
}

function setTokens(record: DeploymentRecord, tokens: string[], now: string): void {
  record.tokenId = tokens[0]!;
  if (tokens.length > 1) record.pool = tokens.slice(1);
  else delete record.pool;
  record.updated = now;
}
