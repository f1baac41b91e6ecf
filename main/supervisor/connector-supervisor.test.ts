import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectorHealth, TunnelState } from '../../shared/health.js';
import { WORKER_EXIT_TOKEN_REJECTED, type FromWorker, type ToWorker } from '../connector/worker-protocol.js';
import { Logger } from '../logging/logger.js';
import { ConnectorSupervisor, type RestartPolicy, type WorkerSpec } from './connector-supervisor.js';
import type { WorkerEvents, WorkerProcess, WorkerSpawner } from './worker-spawner.js';

/**
 * The supervisor's policy on fake timers: restart delays, the crash-loop cap, the stable
 * reset, token rejection, make-before-break and the kill of a worker that will not stop.
 * Workers are stand-ins behind the spawn interface; the real processes are covered by
 * main/core/app-core.integration.test.ts.
 */

class FakeWorker extends EventEmitter<WorkerEvents> implements WorkerProcess {
  static next = 1000;
  readonly pid = FakeWorker.next++;
  readonly posted: ToWorker[] = [];
  killed = false;
  /** Exit as soon as asked to stop (a well-behaved worker). */
  stopsWhenAsked = true;

  post(message: ToWorker): void {
    this.posted.push(message);
    if (message.type === 'stop' && this.stopsWhenAsked) queueMicrotask(() => this.exit(0));
  }

  kill(): void {
    this.killed = true;
    this.exit(137, 'SIGKILL');
  }

  exit(code: number, signal: string | null = null): void {
    this.emit('exit', code, signal);
  }

  report(state: TunnelState): void {
    this.emit('message', { type: 'health', health: { state } as ConnectorHealth } satisfies FromWorker);
  }
}

class FakeSpawner implements WorkerSpawner {
  readonly workers: FakeWorker[] = [];
  /** When each worker was spawned (fake clock). */
  readonly at: number[] = [];
  spawn(): FakeWorker {
    const worker = new FakeWorker();
    this.workers.push(worker);
    this.at.push(Date.now());
    return worker;
  }
  get last(): FakeWorker {
    return this.workers[this.workers.length - 1]!;
  }
}

const POLICY: RestartPolicy = { baseMs: 100, capMs: 1000, stableMs: 60_000, crashLoop: { exits: 5, windowMs: 60_000 } };
const spec = (upstream = 'http://127.0.0.1:11434'): WorkerSpec => ({ config: { tunnel_token: 'tt-test-token-123456', upstream, name: 'gemma' }, gatewayUrl: 'http://127.0.0.1:8787' });

function supervisor(options: { random?: () => number; restart?: RestartPolicy; handoverTimeoutMs?: number } = {}): { sup: ConnectorSupervisor; spawner: FakeSpawner; states: TunnelState[] } {
  const spawner = new FakeSpawner();
  const sup = new ConnectorSupervisor({
    spawner, log: new Logger('test'), restart: options.restart ?? POLICY, stopTimeoutMs: 1000,
    // Just under 1: every delay is its ceiling, so the schedule can be checked exactly.
    random: options.random ?? (() => 0.999999),
    ...(options.handoverTimeoutMs ? { handoverTimeoutMs: options.handoverTimeoutMs } : {}),
  });
  const states: TunnelState[] = [];
  sup.on('state', (_id, state) => states.push(state));
  return { sup, spawner, states };
}

/** Lets the microtasks that deliver an exit run. */
const settle = async (): Promise<void> => {
  await vi.advanceTimersByTimeAsync(0);
};

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('restart policy', () => {
  it('restarts a crashing worker after doubling delays, then stops at crash-looping until retried', async () => {
    const { sup, spawner, states } = supervisor();
    sup.start('d', spec());
    for (let i = 0; i < 5; i++) {
      spawner.last.exit(1);
      await settle();
      if (i < 4) {
        expect(sup.health('d')!.state).toBe('reconnecting');
        await vi.advanceTimersByTimeAsync(sup.health('d')!.restartAt! - Date.now());
      }
    }
    const gaps = spawner.at.slice(1).map((t, i) => t - spawner.at[i]!);
    expect(gaps).toEqual([99, 199, 399, 799]);
    expect(sup.health('d')).toMatchObject({ state: 'crash-looping', restarts: 4, restartAt: null, lastError: { code: 'WORKER_FAILED' } });
    expect(sup.health('d')!.lastError!.message).toMatch(/exited 5 times within 60 s \(last time it exited with code 1\); restarts are paused until you retry/);

    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(spawner.workers).toHaveLength(5);
    expect(states.at(-1)).toBe('crash-looping');

    sup.retry('d');
    expect(spawner.workers).toHaveLength(6);
    expect(sup.health('d')).toMatchObject({ state: 'connecting', lastError: null });
    spawner.last.exit(1);
    await settle();
    // The count starts afresh: the first delay again.
    expect(sup.health('d')!.restartAt! - Date.now()).toBe(99);
  });

  it('draws each delay at random below its ceiling (full jitter)', async () => {
    const draws = [0.5, 0, 0.25];
    const { sup, spawner } = supervisor({ random: () => draws.shift() ?? 0.5 });
    const delays: number[] = [];
    sup.on('health', (_id, health) => {
      if (health.restartAt !== null && health.state === 'reconnecting') delays.push(health.restartAt - Date.now());
    });
    sup.start('d', spec());
    for (let i = 0; i < 3; i++) {
      spawner.last.exit(1);
      await settle();
      await vi.advanceTimersByTimeAsync(delays.at(-1)!);
    }
    expect(delays).toEqual([50, 0, 100]);
    expect(spawner.workers).toHaveLength(4);
  });

  it('forgives a worker that stayed up for the stable period, and forgets exits outside the window', async () => {
    const { sup, spawner } = supervisor({ restart: { ...POLICY, stableMs: 5000, crashLoop: { exits: 3, windowMs: 10_000 } } });
    sup.start('d', spec());
    spawner.last.exit(1);
    await settle();
    await vi.advanceTimersByTimeAsync(99);
    spawner.last.exit(1);
    await settle();
    expect(sup.health('d')!.restartAt! - Date.now()).toBe(199);
    await vi.advanceTimersByTimeAsync(199);

    // Up for 11 s: the next failure waits the first delay again, and the two early exits no longer count.
    await vi.advanceTimersByTimeAsync(11_000);
    spawner.last.exit(1);
    await settle();
    expect(sup.health('d')).toMatchObject({ state: 'reconnecting' });
    expect(sup.health('d')!.restartAt! - Date.now()).toBe(99);
  });

  it('never restarts a worker whose token was rejected', async () => {
    const { sup, spawner } = supervisor();
    sup.start('d', spec());
    spawner.last.emit('message', { type: 'fatal', error: { name: 'TokiosError', code: 'TUNNEL_TOKEN_REJECTED', message: 'the gateway rejected the tunnel token' } });
    spawner.last.exit(WORKER_EXIT_TOKEN_REJECTED);
    await settle();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(spawner.workers).toHaveLength(1);
    expect(sup.health('d')).toMatchObject({ state: 'token-rejected', lastError: { code: 'TUNNEL_TOKEN_REJECTED' } });
  });
});

describe('handover and stopping', () => {
  it('replaces a worker make-before-break, and ignores the exit of the one it replaced', async () => {
    const { sup, spawner } = supervisor();
    sup.start('d', spec());
    const old = spawner.last;
    old.report('online');
    sup.start('d', spec('http://127.0.0.1:8080'));
    const next = spawner.last;
    expect(next).not.toBe(old);
    // The old one keeps serving until the new one is connected.
    await vi.advanceTimersByTimeAsync(5000);
    expect(old.posted.some((m) => m.type === 'stop')).toBe(false);
    next.report('online');
    expect(old.posted.some((m) => m.type === 'stop')).toBe(true);
    await settle();
    expect(sup.pids()).toEqual([next.pid]);
    expect(sup.health('d')).toMatchObject({ state: 'online', restarts: 0, restartAt: null });
    expect(spawner.workers).toHaveLength(2);
  });

  it('stops the old worker anyway when the new one does not connect in time', async () => {
    const { sup, spawner } = supervisor({ handoverTimeoutMs: 2000 });
    sup.start('d', spec());
    const old = spawner.last;
    sup.start('d', spec('http://127.0.0.1:8080'));
    await vi.advanceTimersByTimeAsync(1999);
    expect(old.posted.some((m) => m.type === 'stop')).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(old.posted.some((m) => m.type === 'stop')).toBe(true);
  });

  it('asks a worker to drain, and kills one that does not exit in time', async () => {
    const { sup, spawner } = supervisor();
    sup.start('d', spec());
    const stubborn = spawner.last;
    stubborn.stopsWhenAsked = false;
    const stopped = sup.stop('d');
    expect(stubborn.posted.at(-1)).toEqual({ type: 'stop', timeoutMs: 1000 });
    await vi.advanceTimersByTimeAsync(1999);
    expect(stubborn.killed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await stopped;
    expect(stubborn.killed).toBe(true);
    expect(sup.health('d')!.state).toBe('stopped');
    // A stopped deployment is not restarted.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(spawner.workers).toHaveLength(1);
  });
});
