import { parseDuration } from '../../shared/durations.js';
import { InvalidFieldError, isTokiosError, TokiosError } from '../../shared/errors.js';
import { KEY_SCOPES, type CreateKeyInput, type CreateTokenInput, type CreatedCredential, type CredentialView, type KeyLimits, type KeyScope } from '../../shared/hosted-api.js';
import { API_KEY_PREFIX, TUNNEL_TOKEN_PREFIX, deploymentNameProblem } from '../../shared/names.js';
import { credentialProblem, IMPLICIT_ACCOUNT_ID, type AccountRecord, type CredentialRecord, type GatewayStore, type RegisterResult } from './gateway-store.js';
import type { InvalidationBus } from './invalidation-bus.js';
import { hashSecret, mintSecret, newId } from './secrets.js';

/**
 * What an account's admin can do to its credentials, in one place for the `tokios key` and
 * `tokios token` commands, the control API and the dashboard: mint (checking every field,
 * with errors that name it), list (never a secret), and revoke by id, label or the secret
 * itself. Inside a gateway each change is also published on its invalidation bus (caches
 * drop, tunnels of a revoked token close, bindings reload); the CLI works on the store
 * alone, and running gateways notice its changes through the store.
 */

export type ListableKind = 'api-key' | 'tunnel-token';

export class AccountAdmin {
  constructor(
    private readonly store: GatewayStore,
    private readonly options: { now?: () => number; pendingLastUsed?: (id: string) => string | null; bus?: InvalidationBus } = {},
  ) {}

  /** The account `ref` (id or email) names; the implicit one when `ref` is undefined. */
  async account(ref: string | undefined): Promise<AccountRecord> {
    const account = await this.store.findAccount(ref ?? IMPLICIT_ACCOUNT_ID);
    if (!account) throw new TokiosError('NOT_FOUND', `no account '${ref}' on this gateway; create it with 'tokios account create --email ${ref?.includes('@') ? ref : 'E'}'`);
    return account;
  }

  async createKey(accountId: string, input: CreateKeyInput, extra: { device?: boolean } = {}): Promise<CreatedCredential> {
    const scope = input.scope ?? 'client';
    if (!KEY_SCOPES.includes(scope as KeyScope)) throw new InvalidFieldError('scope', `must be 'client' or 'admin', got '${String(scope).slice(0, 20)}'`);
    const limits: KeyLimits = {};
    for (const field of ['rpm', 'tpm', 'parallel'] as const) {
      const value = input[field];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1e9) throw new InvalidFieldError(field, `must be a whole number of at least 1, got '${String(value).slice(0, 20)}'`);
      limits[field] = value;
    }
    let models: string[] | undefined;
    if (input.models !== undefined && input.models !== null) {
      if (!Array.isArray(input.models) || input.models.length === 0) throw new InvalidFieldError('models', 'must be a non-empty list of deployment names');
      for (const name of input.models) {
        const problem = deploymentNameProblem(name);
        if (problem) throw new InvalidFieldError('models', `lists a deployment name that ${problem}`);
      }
      models = [...new Set(input.models)];
    }
    const secret = mintSecret('api-key');
    const record: CredentialRecord = {
      ...this.base('api-key', accountId, secret, input.label, input.expires),
      scope,
      ...(models ? { models } : {}),
      ...(Object.keys(limits).length ? { limits } : {}),
      ...(extra.device ? { device: true } : {}),
    };
    await this.store.addCredential(record);
    return { id: record.id, credential: this.view(record, null), key: secret };
  }

  /** A tunnel token, and with `deployment` also the name bound to it. */
  async createToken(accountId: string, input: CreateTokenInput): Promise<CreatedCredential & { registered?: RegisterResult; registerProblem?: string }> {
    if (input.deployment !== undefined) {
      const problem = deploymentNameProblem(input.deployment);
      if (problem) throw new TokiosError('NAME_INVALID', `deployment name ${problem}`);
    }
    const secret = mintSecret('tunnel-token');
    const record = this.base('tunnel-token', accountId, secret, input.label, input.expires);
    await this.store.addCredential(record);
    // A name taken by another token is not moved from here: that is the swap, made by
    // registering. The token is still handed out (its secret shows only now), with the reason.
    let registered: RegisterResult | undefined;
    let registerProblem: string | undefined;
    if (input.deployment) {
      try {
        registered = await this.store.register(accountId, input.deployment, record.id, { allowMove: false });
        this.options.bus?.publish({ type: 'deployments-changed', accountId });
      } catch (error) {
        if (!isTokiosError(error) || error.code !== 'FORBIDDEN') throw error;
        registerProblem = `'${input.deployment}' is already bound to another token, so it was not moved; register it with this token to swap`;
      }
    }
    return { id: record.id, credential: this.view(record, registered ? input.deployment! : null), token: secret, ...(registered ? { registered } : {}), ...(registerProblem ? { registerProblem } : {}) };
  }

  async list(accountId: string, kind: ListableKind): Promise<CredentialView[]> {
    const records = await this.store.credentials(accountId, kind);
    const bound = kind === 'tunnel-token' ? new Map((await this.store.deployments(accountId)).map((d) => [d.tokenId, d.name])) : null;
    return records.map((r) => this.view(r, bound?.get(r.id) ?? null));
  }

  /** Revokes the credential `ref` names: its id, its label (when only one live one has it), or the secret. */
  async revoke(accountId: string, kind: ListableKind, ref: string): Promise<CredentialRecord> {
    const record = await this.resolve(accountId, kind, ref);
    const revoked = await this.store.revokeCredential(accountId, record.id, new Date(this.now()).toISOString());
    if (!revoked) throw new TokiosError('NOT_FOUND', `no ${what(kind)} '${shown(ref)}' in this account`);
    this.options.bus?.publish({ type: 'credential-revoked', id: revoked.id, kind: revoked.kind, accountId });
    return revoked;
  }

  view(record: CredentialRecord, deployment: string | null): CredentialView {
    const problem = credentialProblem(record, this.now());
    const pending = this.options.pendingLastUsed?.(record.id) ?? null;
    const lastUsed = [record.lastUsed ?? null, pending].filter((v): v is string => v !== null).sort().at(-1) ?? null;
    const kind = record.kind === 'tunnel-token' ? 'tunnel-token' : 'api-key';
    return {
      id: record.id, kind, label: record.label ?? null, created: record.created, lastUsed, expires: record.expires ?? null, revoked: record.revoked ?? null,
      status: problem ?? 'active',
      ...(kind === 'api-key' ? { scope: record.scope ?? 'client', models: record.models ?? null, limits: record.limits ?? {}, device: record.device === true } : { deployment }),
    };
  }

  private async resolve(accountId: string, kind: ListableKind, ref: string): Promise<CredentialRecord> {
    if (ref.startsWith(API_KEY_PREFIX) || ref.startsWith(TUNNEL_TOKEN_PREFIX)) {
      const record = await this.store.credentialByHash(hashSecret(ref));
      if (record && record.accountId === accountId && record.kind === kind) return record;
      throw new TokiosError('NOT_FOUND', `that ${what(kind)} is not one of this account's`);
    }
    const records = await this.store.credentials(accountId, kind);
    const byId = records.find((r) => r.id === ref);
    if (byId) return byId;
    const byLabel = records.filter((r) => r.label === ref && !r.revoked);
    if (byLabel.length === 1) return byLabel[0]!;
    if (byLabel.length > 1) throw new TokiosError('CONFLICT', `${byLabel.length} live ${what(kind)}s are labelled '${shown(ref)}'; revoke by id (${byLabel.map((r) => r.id).join(', ')})`);
    throw new TokiosError('NOT_FOUND', `no ${what(kind)} with the id or label '${shown(ref)}' in this account`);
  }

  private base(kind: 'api-key' | 'tunnel-token', accountId: string, secret: string, label: string | undefined, expires: string | undefined): CredentialRecord {
    if (label !== undefined && (typeof label !== 'string' || label.length > 100)) throw new InvalidFieldError('label', 'must be text of at most 100 characters');
    let expiresAt: string | undefined;
    if (expires !== undefined && expires !== null && expires !== '') {
      const ms = typeof expires === 'string' ? parseDuration(expires) : null;
      if (ms === null) throw new InvalidFieldError('expires', `must be a duration above zero such as 30d, 12h or 90m, got '${String(expires).slice(0, 20)}'`);
      expiresAt = new Date(this.now() + ms).toISOString();
    }
    return {
      id: newId(kind === 'api-key' ? 'key' : 'tok'), kind, accountId, hash: hashSecret(secret), created: new Date(this.now()).toISOString(),
      ...(label ? { label } : {}), ...(expiresAt ? { expires: expiresAt } : {}),
    };
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function what(kind: ListableKind): string {
  return kind === 'api-key' ? 'API key' : 'tunnel token';
}

/** A reference as it may be echoed: never a secret. */
function shown(ref: string): string {
  return ref.startsWith(API_KEY_PREFIX) || ref.startsWith(TUNNEL_TOKEN_PREFIX) ? `${ref.slice(0, ref.indexOf('-') + 1)}…` : ref.slice(0, 80);
}
