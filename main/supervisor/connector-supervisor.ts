import { EventEmitter } from 'node:events';
import { Backoff, type BackoffPolicy } from '../../shared/backoff.js';
import { fromErrorData } from '../../shared/errors.js';
import type { ConnectorHealth, LastError, RequestRecord, TunnelState } from '../../shared/health.js';
import type { TokiosConfig } from '../../shared/tokios-config.js';
import { WORKER_EXIT_TOKEN_REJECTED, type FromWorker } from '../connector/worker-protocol.js';
import type { Logger } from '../logging/logger.js';
import type { WorkerProcess, WorkerSpawner } from './worker-spawner.js';

/**
 * One connector worker per enabled deployment. Restarts a worker that exits after a
 * backoff (the shared one: exponential with full jitter), gives up (`crash-looping`) after
 * `crashLoop.exits` exits within `crashLoop.windowMs` until the user retries, and never
 * restarts a worker whose token was rejected. A changed config starts the new worker first
 * and stops the old one once the new one is connected; exits of workers already replaced
 * are ignored.
 */

export interface WorkerSpec {
  config: TokiosConfig;
  gatewayUrl: string;
  heartbeatMs?: number;
  /** The worker's own reconnect backoff towards the gateway. */
  backoff?: BackoffPolicy;
}

export interface RestartPolicy {
  /** Upper bound of the first restart delay; doubles with each consecutive failure. */
  baseMs: number;
  capMs: number;
  /** A worker up this long resets the failure count. */
  stableMs: number;
  crashLoop: { exits: number; windowMs: number };
}

export type SupervisorEvents = {
  state: [id: string, state: TunnelState, previous: TunnelState];
  health: [id: string, health: SupervisedHealth];
  request: [id: string, record: RequestRecord];
  output: [id: string, line: string];
};

export const DEFAULT_RESTART_POLICY: RestartPolicy = { baseMs: 1000, capMs: 30_000, stableMs: 60_000, crashLoop: { exits: 5, windowMs: 60_000 } };

export interface SupervisorOptions {
  spawner: WorkerSpawner;
  log: Logger;
  restart?: RestartPolicy;
  /** How long a stopping worker may drain before it is killed. */
  stopTimeoutMs?: number;
  /** How long a replacement may take to connect before the old worker is stopped anyway. */
  handoverTimeoutMs?: number;
  /** The restart backoff's random source (tests pin it). */
  random?: () => number;
}

/** What the supervisor knows of a deployment: the worker's own report plus its own state. */
export interface SupervisedHealth {
  state: TunnelState;
  worker: ConnectorHealth | null;
  restarts: number;
  lastError: LastError | null;
  /** When a scheduled restart will happen. */
  restartAt: number | null;
}

interface Run {
  generation: number;
  process: WorkerProcess;
  health: ConnectorHealth | null;
  exited: Promise<{ code: number; signal: string | null }>;
  stopping: boolean;
}

interface Slot {
  id: string;
  spec: WorkerSpec;
  mode: 'running' | 'stopped' | 'crash-looping' | 'token-rejected';
  current: Run | null;
  /** Replaced workers finishing what they have in flight. */
  draining: Set<Run>;
  exits: number[];
  backoff: Backoff;
  restarts: number;
  restartTimer: NodeJS.Timeout | null;
  restartAt: number | null;
  lastError: LastError | null;
  state: TunnelState;
}

const CONNECTED: ReadonlySet<TunnelState> = new Set(['online', 'waiting', 'upstream-down']);

export class ConnectorSupervisor extends EventEmitter<SupervisorEvents> {
  private readonly slots = new Map<string, Slot>();
  private readonly policy: RestartPolicy;
  private generation = 0;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.policy = options.restart ?? DEFAULT_RESTART_POLICY;
  }

  /** Starts the deployment's worker, or replaces it (make before break) when the spec changed. */
  start(id: string, spec: WorkerSpec): void {
    let slot = this.slots.get(id);
    if (!slot) {
      slot = {
        id, spec, mode: 'running', current: null, draining: new Set(), exits: [], backoff: this.newBackoff(), restarts: 0,
        restartTimer: null, restartAt: null, lastError: null, state: 'stopped',
      };
      this.slots.set(id, slot);
    }
    slot.spec = spec;
    slot.mode = 'running';
    this.clearRestart(slot);
    const previous = slot.current;
    this.launch(slot);
    if (previous) this.handOver(slot, previous);
  }

  /** Clears crash-looping / token-rejected and starts afresh. */
  retry(id: string): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    slot.exits = [];
    slot.backoff.reset();
    slot.lastError = null;
    this.start(id, slot.spec);
  }

  /** Drains the worker (up to the stop timeout), then kills it. */
  async stop(id: string): Promise<void> {
    const slot = this.slots.get(id);
    if (!slot) return;
    slot.mode = 'stopped';
    this.clearRestart(slot);
    const runs = [slot.current, ...slot.draining].filter((r): r is Run => r !== null);
    this.update(slot);
    await Promise.all(runs.map((run) => this.stopRun(run)));
    this.update(slot);
  }

  /** Stops and forgets the deployment. */
  async remove(id: string): Promise<void> {
    await this.stop(id);
    this.slots.delete(id);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((id) => this.stop(id)));
  }

  health(id: string): SupervisedHealth | null {
    const slot = this.slots.get(id);
    return slot ? this.healthOf(slot) : null;
  }

  private healthOf(slot: Slot): SupervisedHealth {
    return { state: slot.state, worker: slot.current?.health ?? null, restarts: slot.restarts, lastError: slot.lastError ?? slot.current?.health?.lastError ?? null, restartAt: slot.restartAt };
  }

  /** Process ids of every live worker (tests look at their command lines). */
  pids(): number[] {
    return [...this.slots.values()].flatMap((s) => [s.current, ...s.draining]).filter((r): r is Run => r !== null).map((r) => r.process.pid).filter((p): p is number => p !== undefined);
  }

  private launch(slot: Slot): void {
    const generation = ++this.generation;
    const name = slot.spec.config.name ?? slot.id;
    const process = this.options.spawner.spawn(name);
    const exited = new Promise<{ code: number; signal: string | null }>((resolve) => process.once('exit', (code, signal) => resolve({ code, signal })));
    const run: Run = { generation, process, health: null, exited, stopping: false };
    slot.current = run;
    slot.backoff.up();
    process.on('message', (message) => this.onMessage(slot, run, message));
    process.on('output', (line) => this.emit('output', slot.id, line));
    exited
      .then(({ code, signal }) => this.onExit(slot, run, code, signal))
      .catch((error: unknown) => this.options.log.error(`handling the exit of worker ${process.pid ?? '?'} failed: ${(error as Error).message}`));
    process.post({ type: 'start', config: slot.spec.config, gatewayUrl: slot.spec.gatewayUrl, ...(slot.spec.heartbeatMs ? { heartbeatMs: slot.spec.heartbeatMs } : {}), ...(slot.spec.backoff ? { backoff: slot.spec.backoff } : {}) });
    this.options.log.info(`started worker ${process.pid ?? '?'} for '${name}'`);
    this.update(slot);
  }

  /** The new worker takes over once connected (or after a timeout); then the old one drains. */
  private handOver(slot: Slot, old: Run): void {
    slot.draining.add(old);
    const next = slot.current!;
    const deadline = setTimeout(() => finish(), this.options.handoverTimeoutMs ?? 15_000);
    const check = (id: string): void => {
      if (id === slot.id && next.health && CONNECTED.has(next.health.state)) finish();
    };
    const finish = (): void => {
      clearTimeout(deadline);
      this.off('health', check);
      void this.stopRun(old).then(() => slot.draining.delete(old));
    };
    this.on('health', check);
    void next.exited.then(() => finish());
  }

  private stopRun(run: Run): Promise<unknown> {
    if (!run.stopping) {
      run.stopping = true;
      const timeoutMs = this.options.stopTimeoutMs ?? 10_000;
      run.process.post({ type: 'stop', timeoutMs });
      const kill = setTimeout(() => run.process.kill(), timeoutMs + 1000);
      void run.exited.then(() => clearTimeout(kill));
    }
    return run.exited;
  }

  private onMessage(slot: Slot, run: Run, message: FromWorker): void {
    if (message.type === 'health') {
      run.health = message.health;
      if (run === slot.current) this.update(slot);
    } else if (message.type === 'request') {
      this.emit('request', slot.id, message.record);
    } else if (message.type === 'fatal') {
      const error = fromErrorData(message.error);
      slot.lastError = { code: error.code, message: error.message, at: Date.now() };
    }
  }

  private onExit(slot: Slot, run: Run, code: number, signal: string | null): void {
    slot.draining.delete(run);
    if (run !== slot.current) return; // replaced: its exit says nothing about the deployment
    slot.current = null;
    if (slot.mode !== 'running' || run.stopping) {
      this.update(slot);
      return;
    }
    if (code === WORKER_EXIT_TOKEN_REJECTED) {
      slot.mode = 'token-rejected';
      this.options.log.warn(`worker for '${slot.spec.config.name ?? slot.id}' stopped: the gateway rejected its tunnel token`);
      this.update(slot);
      return;
    }
    const now = Date.now();
    const how = signal ? `was killed (${signal})` : `exited with code ${code}`;
    slot.exits = [...slot.exits.filter((t) => now - t < this.policy.crashLoop.windowMs), now];
    slot.backoff.ended();
    if (slot.exits.length >= this.policy.crashLoop.exits) {
      slot.mode = 'crash-looping';
      slot.lastError = { code: 'WORKER_FAILED', message: `the connector worker exited ${slot.exits.length} times within ${Math.round(this.policy.crashLoop.windowMs / 1000)} s (last time it ${how}); restarts are paused until you retry`, at: now };
      this.options.log.error(`worker for '${slot.spec.config.name ?? slot.id}' is crash-looping; not restarting`);
      this.update(slot);
      return;
    }
    const delay = slot.backoff.next();
    slot.lastError = { code: 'WORKER_FAILED', message: `the connector worker ${how}; restarting in ${(delay / 1000).toFixed(1)} s`, at: now };
    slot.restartAt = now + delay;
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      slot.restartAt = null;
      if (slot.mode !== 'running') return;
      slot.restarts++;
      this.launch(slot);
    }, delay);
    this.update(slot);
  }

  private newBackoff(): Backoff {
    const { baseMs, capMs, stableMs } = this.policy;
    return new Backoff({ baseMs, capMs, stableMs }, this.options.random ? { random: this.options.random } : {});
  }

  private clearRestart(slot: Slot): void {
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
    slot.restartAt = null;
  }

  private computeState(slot: Slot): TunnelState {
    switch (slot.mode) {
      case 'stopped':
        return 'stopped';
      case 'crash-looping':
        return 'crash-looping';
      case 'token-rejected':
        return 'token-rejected';
      case 'running':
        if (slot.restartTimer) return 'reconnecting';
        return slot.current?.health?.state ?? 'connecting';
    }
  }

  private update(slot: Slot): void {
    const next = this.computeState(slot);
    if (next !== slot.state) {
      const previous = slot.state;
      slot.state = next;
      this.emit('state', slot.id, next, previous);
    }
    this.emit('health', slot.id, this.healthOf(slot));
  }
}
