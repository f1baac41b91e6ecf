import type { DeploymentInput, DeploymentView, HealthSample, NameCheck } from '../../shared/api.js';
import { TokiosError, isTokiosError } from '../../shared/errors.js';
import type { TunnelState } from '../../shared/health.js';
import { deploymentNameProblem, maskSecret, tunnelTokenProblem } from '../../shared/names.js';
import { upstreamFromInput, type TokiosConfig } from '../../shared/tokios-config.js';
import type { UpstreamKind } from '../../shared/tunnel-protocol.js';
import type { DeploymentFields, DeploymentRecord, DeploymentStore } from '../deployments/deployment-store.js';
import { redact, registerSecret, type Logger } from '../logging/logger.js';
import type { ConnectorSupervisor } from '../supervisor/connector-supervisor.js';
import type { ApiEventBus } from './api-events.js';
import type { GatewayConnection } from './gateway-connection.js';
import { HealthTracker } from './health-tracker.js';
import type { LogBuffer } from './log-buffer.js';
import type { RequestLog } from './request-log.js';
import { TaskGroup } from './task-group.js';

/**
 * The app's deployments and their workers: create, change, start, stop and remove them,
 * register their names with the gateway, run one supervised worker each, and the swap —
 * a new deployment taking an existing name retires the old one once it serves. Every
 * way a deployment goes away (removed, its file deleted, swapped out) ends in one
 * `teardown`.
 */

/** What the deployments need of the gateway in use. */
export interface GatewayAccess {
  readonly current: GatewayConnection | null;
  /** The gateway, or GATEWAY_UNREACHABLE saying why there is none. */
  require(): GatewayConnection;
}

export interface DeploymentServiceOptions {
  store: DeploymentStore;
  supervisor: ConnectorSupervisor;
  gateway: GatewayAccess;
  events: ApiEventBus;
  log: Logger;
  /** Tunnel heartbeat for the workers (tests shorten it). */
  heartbeatMs?: number;
  /** Where workers' log lines go, already redacted. */
  workerOutput: (line: string) => void;
  /** Every request (the inspector's feed), and each deployment's totals and rates from it. */
  requestLog: RequestLog;
  /** The Logs view's memory; each worker's lines go there under its deployment's id. */
  logBuffer: LogBuffer;
  /** What detection found at an upstream URL, until the worker says what it is. */
  kindOf?: (url: string) => UpstreamKind;
}

/** A switch of gateways, registered on the new one but not applied yet. */
export interface GatewayMove {
  /** Starts each worker against the new gateway; resolves once they have settled there. */
  apply(): Promise<void>;
}

/** States after which a swap's new deployment has settled, for better or worse. */
const SETTLED: ReadonlyArray<TunnelState> = ['online', 'upstream-down', 'token-rejected', 'crash-looping', 'stopped'];
const SWAP_WAIT_MS = 30_000;

export class DeploymentService {
  private readonly tracker = new HealthTracker();
  /** Problems with deployments' files or registration, shown until the next good change. */
  private readonly problems = new Map<string, string>();
  private readonly tasks: TaskGroup;
  /** What each deployment's view last published said, so the pulse publishes only changes. */
  private readonly published = new Map<string, string>();

  constructor(private readonly options: DeploymentServiceOptions) {
    const { store, supervisor, events } = options;
    this.tasks = new TaskGroup(options.log);
    for (const record of store.list()) protect(store.token(record.id));
    supervisor.on('state', (id, state, previous) => {
      const record = store.find(id);
      if (record) events.emit('deployment.state', { id, name: record.name, state, previous });
    });
    supervisor.on('health', (id) => this.publish(id));
    supervisor.on('request', (id, record) => options.requestLog.fromConnector(id, store.find(id)?.name ?? id, record));
    supervisor.on('output', (id, line) => {
      options.workerOutput(redact(line));
      options.logBuffer.fromWorker(id, line);
    });
  }

  // ---- reading ------------------------------------------------------------------------

  records(): DeploymentRecord[] {
    return this.options.store.list();
  }

  byFile(file: string): DeploymentRecord | undefined {
    return this.options.store.byFile(file);
  }

  views(): DeploymentView[] {
    return this.records().map((r) => this.view(r));
  }

  viewOf(id: string): DeploymentView {
    return this.view(this.options.store.get(id));
  }

  checkName(name: string, excludeId?: string): NameCheck {
    const problem = deploymentNameProblem(name);
    const other = this.records().find((d) => d.name === name && d.id !== excludeId);
    return { problem: problem ? `The name ${problem}.` : null, swapsWith: other ? { id: other.id, upstream: other.upstream } : null };
  }

  /** Whether the gateway in use issued `token` (null: it cannot tell before the token is used). */
  checkToken(token: string): { problem: string | null; known: boolean | null } {
    const trimmed = token.trim();
    const problem = tunnelTokenProblem(trimmed);
    if (problem) return { problem: `The tunnel token ${problem}.`, known: null };
    const gateway = this.options.gateway.current;
    const known = gateway?.knowsToken(trimmed) ?? null;
    return {
      problem: known === false ? `The gateway at ${gateway!.url} did not issue this token (or it was revoked). Leave the field empty to let the app create one, or paste a token from this gateway.` : null,
      known,
    };
  }

  /** The app's deployment a requested name belongs to (the newest, during a swap). */
  idOfName(name: string): string | null {
    return this.records().filter((d) => d.name === name).at(-1)?.id ?? null;
  }

  history(id: string): HealthSample[] {
    this.options.store.get(id);
    return this.tracker.history(id);
  }

  /** The deployment's tunnel token, for an export; null when it has none. */
  token(id: string): string | null {
    return this.options.store.token(id);
  }

  get(id: string): DeploymentRecord {
    return this.options.store.get(id);
  }

  /** Every live worker's pid (tests read their command lines). */
  workerPids(): number[] {
    return this.options.supervisor.pids();
  }

  /**
   * Once a second: each deployment's figures (rates age even when nothing happens) go out
   * with a chart point taken from the same view, so tiles and charts never disagree.
   */
  sampleHealth(): void {
    const now = Date.now();
    for (const record of this.records()) {
      const view = this.view(record, now);
      this.options.events.emit('deployment.sample', { id: record.id, sample: this.tracker.sample(record.id, view.health, now) });
      if (this.published.get(record.id) !== figuresSignature(view)) this.emitView(view);
    }
  }

  // ---- the user's changes -------------------------------------------------------------

  async create(input: DeploymentInput): Promise<DeploymentView> {
    const { fields, token: pasted, replaces } = this.prepare(input);
    const gateway = this.options.gateway.require();
    const token = pasted ?? (gateway.info().canMintTokens ? await gateway.mintToken() : null);
    if (!token) throw new TokiosError('TOKEN_INVALID', 'Paste the tunnel token (tt-…) your gateway gave you for this deployment.');
    protect(token);
    await gateway.register(fields.name, token);
    const record = this.options.store.create({ ...fields, mintedFor: pasted ? null : gateway.url }, token);
    this.options.log.info(`deployment '${record.name}' created${replaces ? ` (swapping out the one for ${replaces.upstream})` : ''}`);
    if (record.enabled) this.run(record);
    this.publish(record.id);
    if (replaces) this.retireAfterSwap(replaces, record);
    return this.view(record);
  }

  async update(id: string, changes: Partial<DeploymentInput>): Promise<DeploymentView> {
    const { store, supervisor } = this.options;
    const current = store.get(id);
    if (current.source === 'folder') throw new TokiosError('INVALID_ARGUMENT', `'${current.name}' comes from ${current.file}; edit that file (the app never rewrites it)`);
    const merged: DeploymentInput = { name: current.name, upstream: current.upstream, model: current.model, enabled: current.enabled, ...changes };
    const { fields, token, replaces } = this.prepare(merged, current);
    const gateway = this.options.gateway.require();
    if (token) protect(token);
    const nextToken = token ?? store.token(id);
    if (!nextToken) throw new TokiosError('TOKEN_INVALID', 'This deployment has no tunnel token; paste one.');
    if (fields.name !== current.name || token) await gateway.register(fields.name, nextToken);
    const record = store.update(id, fields, token ?? undefined);
    const restart = fields.upstream !== current.upstream || fields.model !== current.model || token !== null || fields.name !== current.name;
    if (!record.enabled) await supervisor.stop(id);
    else if (restart || !current.enabled) this.run(record);
    this.problems.delete(id);
    this.publish(id);
    if (replaces) this.retireAfterSwap(replaces, record);
    return this.view(record);
  }

  async remove(id: string): Promise<void> {
    if (id.startsWith('file:')) throw new TokiosError('INVALID_ARGUMENT', `delete ${id.slice(5)} to remove it`);
    const record = this.options.store.get(id);
    if (record.source === 'folder') throw new TokiosError('INVALID_ARGUMENT', `'${record.name}' comes from ${record.file}; delete that file to remove it`);
    await this.teardown(record, { unregister: true });
  }

  async setEnabled(id: string, enabled: boolean): Promise<DeploymentView> {
    const { store, supervisor } = this.options;
    const record = store.get(id);
    const next = record.enabled === enabled ? record : store.update(id, { enabled });
    if (enabled) {
      if (supervisor.health(id)?.state === 'stopped' || !supervisor.health(id)) this.run(next);
    } else {
      await supervisor.stop(id);
    }
    this.publish(id);
    return this.view(next);
  }

  /** Clears crash-looping (or token-rejected) and starts again. */
  retry(id: string): DeploymentView {
    const { store, supervisor } = this.options;
    const record = store.get(id);
    if (!record.enabled) store.update(id, { enabled: true });
    if (supervisor.health(id)) supervisor.retry(id);
    else this.run(store.get(id));
    return this.viewOf(id);
  }

  async startAll(): Promise<void> {
    for (const record of this.records()) {
      if (!record.enabled || this.options.supervisor.health(record.id)?.state === 'stopped') await this.setEnabled(record.id, true);
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.records().filter((r) => r.enabled).map((r) => this.setEnabled(r.id, false)));
  }

  // ---- the gateway --------------------------------------------------------------------

  /** Registers every deployment's name with the gateway in use (at start-up). */
  async registerAll(): Promise<void> {
    for (const record of this.records()) await this.registerQuietly(record);
  }

  /** Starts the worker of every enabled deployment. */
  startEnabled(): void {
    for (const record of this.records()) if (record.enabled) this.run(record);
  }

  /**
   * The user is switching gateways. Make before break: every deployment is registered on
   * the new gateway first (with a token from it where the app minted the old one); if that
   * gateway takes none of them, this throws and nothing changed here. `apply` then moves
   * the workers, each one serving through the old gateway until its new tunnel is up.
   */
  async planMove(connection: GatewayConnection): Promise<GatewayMove> {
    const plans: Array<{ record: DeploymentRecord; token: string | null; minted: boolean; problem: string | null }> = [];
    for (const record of this.records()) {
      let token = this.options.store.token(record.id);
      let minted = false;
      let problem: string | null = null;
      try {
        // Tokens belong to the gateway that issued them. One the app minted elsewhere is
        // replaced by one from this gateway; one the user pasted is theirs to replace.
        if (record.mintedFor && record.mintedFor !== connection.url && connection.info().canMintTokens) {
          token = await connection.mintToken();
          protect(token);
          minted = true;
        }
        if (token) await connection.register(record.name, token);
      } catch (error) {
        problem = `Could not register '${record.name}' with the gateway: ${(error as Error).message}`;
      }
      plans.push({ record, token, minted, problem });
    }
    if (plans.length > 0 && plans.every((p) => p.problem)) {
      throw new TokiosError('GATEWAY_ERROR', `${connection.url} accepted none of your deployments, so nothing was changed. ${plans[0]!.problem}`);
    }
    return {
      apply: async () => {
        const moving: string[] = [];
        for (const plan of plans) {
          const record = plan.minted && plan.token ? this.options.store.update(plan.record.id, { mintedFor: connection.url }, plan.token) : plan.record;
          if (plan.problem) this.problems.set(record.id, plan.problem);
          else this.problems.delete(record.id);
          if (record.enabled) {
            this.run(record);
            moving.push(record.id);
          }
          this.publish(record.id);
        }
        const settling = new AbortController();
        await Promise.all(moving.map((id) => this.settled(id, settling.signal)));
      },
    };
  }

  // ---- the config folder's deployments ------------------------------------------------

  /** A new or changed valid file: create or update its deployment and (re)start it. */
  async applyFile(file: string, fields: DeploymentFields, token: string): Promise<void> {
    const { store, log } = this.options;
    protect(token);
    const existing = store.byFile(file);
    const record = existing ? store.update(existing.id, fields, token) : store.create(fields, token, 'folder', file);
    this.problems.delete(record.id);
    log.info(`${file}: ${existing ? 'changed; restarting its connector' : `new deployment '${fields.name}'`}`);
    await this.registerQuietly(record);
    this.run(record);
    this.publish(record.id);
  }

  /** Shows why the deployment's latest settings were not applied (the last good ones keep running). */
  setProblem(id: string, message: string): void {
    this.problems.set(id, message);
    this.publish(id);
  }

  /** The file of a folder deployment was deleted: stop and forget it. */
  async removeFile(record: DeploymentRecord): Promise<void> {
    this.options.log.info(`${record.file} was deleted; stopping '${record.name}'`);
    await this.teardown(record, { unregister: true });
  }

  /** Stops the workers and waits for a swap in progress to finish its handover. */
  async stop(): Promise<void> {
    await this.tasks.stop();
    await this.options.supervisor.stopAll();
  }

  // ---- inside -------------------------------------------------------------------------

  private view(record: DeploymentRecord, now = Date.now()): DeploymentView {
    const token = this.options.store.token(record.id);
    return {
      id: record.id, name: record.name, upstream: record.upstream, model: record.model, enabled: record.enabled,
      token: token ? maskSecret(token) : '', source: record.source, file: record.file,
      configError: this.problems.get(record.id) ?? null, created: record.created, updated: record.updated,
      health: this.tracker.view(this.options.supervisor.health(record.id), this.options.requestLog.figures(record.id, now), this.options.kindOf?.(record.upstream) ?? 'unknown', now),
    };
  }

  private publish(id: string): void {
    const record = this.options.store.find(id);
    if (record) this.emitView(this.view(record));
  }

  private emitView(view: DeploymentView): void {
    this.published.set(view.id, figuresSignature(view));
    this.options.events.emit('deployment.updated', view);
  }

  /** Validated fields and token for a new or changed deployment. */
  private prepare(input: DeploymentInput, current?: DeploymentRecord): { fields: DeploymentFields; token: string | null; replaces: DeploymentRecord | null } {
    const name = input.name;
    const check = this.checkName(name, current?.id);
    if (check.problem) throw new TokiosError('NAME_INVALID', check.problem);
    const replaces = check.swapsWith ? this.options.store.get(check.swapsWith.id) : null;
    if (replaces && !input.replace) {
      throw new TokiosError('CONFLICT', `'${name}' is already the name of the deployment for ${replaces.upstream}. Saving again swaps its backend to this one: clients keep using '${name}' and its traffic moves here.`);
    }
    if (replaces?.source === 'folder') throw new TokiosError('CONFLICT', `'${name}' belongs to ${replaces.file}; rename or remove that file first`);
    const upstream = upstreamFromInput(input.upstream, (problem) => new TokiosError('INVALID_ARGUMENT', `Upstream URL ${problem}.`));
    const model = input.model?.trim() ? input.model.trim() : null;
    let token: string | null = null;
    if (input.token) {
      const problem = tunnelTokenProblem(input.token.trim());
      if (problem) throw new TokiosError('TOKEN_INVALID', `The tunnel token ${problem}.`);
      token = input.token.trim();
    }
    return { fields: { name, upstream, model, enabled: input.enabled ?? current?.enabled ?? true }, token, replaces };
  }

  /** Starts (or restarts with new settings) the deployment's worker. */
  private run(record: DeploymentRecord): void {
    const token = this.options.store.token(record.id);
    const gateway = this.options.gateway.current;
    if (!token || !gateway) return;
    const config: TokiosConfig = { tunnel_token: token, upstream: record.upstream, name: record.name, ...(record.model ? { model: record.model } : {}) };
    this.options.supervisor.start(record.id, { config, gatewayUrl: gateway.url, ...(this.options.heartbeatMs ? { heartbeatMs: this.options.heartbeatMs } : {}) });
  }

  private async registerQuietly(record: DeploymentRecord): Promise<void> {
    const token = this.options.store.token(record.id);
    const gateway = this.options.gateway.current;
    if (!token || !gateway) return;
    try {
      await gateway.register(record.name, token);
      this.problems.delete(record.id);
    } catch (error) {
      this.problems.set(record.id, registrationProblem(record, gateway.url, error));
    }
  }

  /** Once the new deployment serves the name (or the app stops), the one it replaced goes. */
  private retireAfterSwap(old: DeploymentRecord, next: DeploymentRecord): void {
    this.tasks.run(`retiring '${old.name}' after the swap`, async (signal) => {
      await this.settled(next.id, signal);
      await this.teardown(old, { unregister: false });
    });
  }

  /** Resolves once the deployment reaches a settled state, after SWAP_WAIT_MS, or on abort. */
  private settled(id: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        off();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, SWAP_WAIT_MS);
      const off = this.options.events.on('deployment.state', (event) => {
        if (event.id === id && SETTLED.includes(event.state)) done();
      });
      signal.addEventListener('abort', done, { once: true });
      if (signal.aborted || SETTLED.includes(this.options.supervisor.health(id)?.state ?? 'stopped')) done();
    });
  }

  /**
   * The one way a deployment goes: its worker stops, its name is unregistered when asked
   * (and no other deployment holds it), and its records and history are forgotten.
   */
  private async teardown(record: DeploymentRecord, { unregister }: { unregister: boolean }): Promise<void> {
    await this.options.supervisor.remove(record.id);
    if (unregister) await this.unregisterIfOwned(record);
    // Nothing carries over to a new deployment that reuses the name.
    this.tracker.forget(record.id);
    this.options.requestLog.forget(record.id);
    this.options.logBuffer.forget(record.id);
    this.published.delete(record.id);
    this.problems.delete(record.id);
    this.options.store.remove(record.id);
    this.options.events.emit('deployment.removed', { id: record.id });
  }

  private async unregisterIfOwned(record: DeploymentRecord): Promise<void> {
    if (this.records().some((d) => d.id !== record.id && d.name === record.name)) return;
    try {
      await this.options.gateway.current?.unregister(record.name);
    } catch (error) {
      this.options.log.warn(`could not unregister '${record.name}': ${(error as Error).message}`);
    }
  }
}

/** Secrets the app holds are redacted from every log line, whatever their shape. */
function protect(secret: string | null): void {
  if (secret) registerSecret(secret);
}

/** The figures the list and the tiles show; the pulse publishes a view only when these moved. */
function figuresSignature(view: DeploymentView): string {
  const h = view.health;
  return `${h.state}|${h.rttMs}|${h.inFlight}|${h.requestsPerMinute}|${h.tokensPerSecond}|${h.ttftMs}|${h.totals.requests}|${h.totals.errors}|${h.upstreamReachable}|${h.upstreamKind}`;
}

/** Why `record` could not be registered, in the words of what the user would change. */
function registrationProblem(record: DeploymentRecord, gatewayUrl: string, error: unknown): string {
  // A folder file's name was checked when the file was read: a refusal is about its token,
  // most often one another gateway issued. The fix is in the file (or the app's gateway).
  if (record.source === 'folder' && isTokiosError(error) && (error.code === 'INVALID_ARGUMENT' || error.code === 'UNAUTHORIZED')) {
    return `${record.file}: field \`tunnel_token\`: the app's gateway (${gatewayUrl}) did not issue this token, or it was revoked. Files in this folder must hold tokens of the app's own gateway (create the deployment in the app and export it), or point the app at the gateway that issued the token (the Gateway page).`;
  }
  return `Could not register '${record.name}' with the gateway: ${(error as Error).message}`;
}
