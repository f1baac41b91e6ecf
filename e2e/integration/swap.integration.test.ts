import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { TunnelRig } from '../support/tunnel-rig.js';

/**
 * Re-registering a name with another token moves its traffic with no request lost,
 * whichever comes first: the new connector or the re-registration.
 */

let rig: TunnelRig;
const upstreams: FakeOllama[] = [];

beforeAll(async () => {
  rig = await new TunnelRig().start();
  for (const label of ['A', 'B', 'C']) upstreams.push(await startFakeOllama({ label: `upstream-${label}`, tokenIntervalMs: 15 }));
});

afterAll(async () => {
  await rig?.close();
  await Promise.all(upstreams.map((u) => u.close()));
});

interface LoadResult {
  ok: number;
  failures: string[];
  /** Which upstream answered, by label. */
  answeredBy: Record<string, number>;
}

/** `concurrency` clients sending streaming requests back to back until stopped; `result` counts as it goes. */
function startLoad(model: string, concurrency: number): { result: LoadResult; stop: () => Promise<LoadResult> } {
  const result: LoadResult = { ok: 0, failures: [], answeredBy: {} };
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      try {
        const response = await rig.fetch('/v1/chat/completions', { model, stream: true, max_tokens: 6, messages: [{ role: 'user', content: 'Hi' }] });
        const text = await response.text();
        if (response.status !== 200 || !text.includes('data: [DONE]')) {
          result.failures.push(`${response.status}: ${text.slice(0, 200)}`);
          continue;
        }
        const label = /Hello from (upstream-\w)/.exec(text)?.[1] ?? 'unknown';
        result.answeredBy[label] = (result.answeredBy[label] ?? 0) + 1;
        result.ok++;
      } catch (error) {
        result.failures.push(String(error));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  return {
    result,
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return result;
    },
  };
}

/** Waits until `label` has answered `more` requests of `load` beyond what it had answered so far. */
async function answered(load: { result: LoadResult }, label: string, more = 6): Promise<void> {
  const target = (load.result.answeredBy[label] ?? 0) + more;
  await expect.poll(() => load.result.answeredBy[label] ?? 0, { timeout: 10_000 }).toBeGreaterThanOrEqual(target);
}

async function answeredBy(model: string, count: number): Promise<string[]> {
  const labels: string[] = [];
  for (let i = 0; i < count; i++) {
    const { json } = await rig.chat(model, { max_tokens: 1 });
    labels.push(/Hello from (upstream-\w)/.exec(json.choices[0].message.content)?.[1] ?? 'unknown');
  }
  return labels;
}

it('swaps under load with the new connector up first, then the re-registration: 0 failures', async () => {
  const [a, b] = upstreams as [FakeOllama, FakeOllama];
  await rig.deploy('swap-me', a);
  const load = startLoad('swap-me', 6);
  await answered(load, 'upstream-A');

  const tokenB = await rig.newToken();
  const connectorB = rig.connect(tokenB, b);
  await connectorB.waitFor(/state: waiting/);
  // B waits unbound; A keeps serving.
  await answered(load, 'upstream-A');
  await rig.register('swap-me', tokenB, { asAdmin: true });
  await connectorB.waitFor(/state: online/);
  await answered(load, 'upstream-B');

  const result = await load.stop();
  expect(result.failures).toEqual([]);
  expect(result.answeredBy['upstream-A']).toBeGreaterThan(0);
  expect(result.answeredBy['upstream-B']).toBeGreaterThan(0);
  expect(new Set(await answeredBy('swap-me', 10))).toEqual(new Set(['upstream-B']));
  // The old backend finished what it had: nothing it started was cut off.
  expect(a.requests.filter((r) => r.aborted)).toEqual([]);
}, 60_000);

it('swaps under load with the re-registration first, then the new connector: 0 failures', async () => {
  const [, b, c] = upstreams as [FakeOllama, FakeOllama, FakeOllama];
  await rig.deploy('swap-too', b);
  const servedBefore = b.requests.length;
  const load = startLoad('swap-too', 6);
  await answered(load, 'upstream-B');

  const tokenC = await rig.newToken();
  await rig.register('swap-too', tokenC, { asAdmin: true });
  // Until C's connector is online, B keeps serving.
  await answered(load, 'upstream-B');
  const connectorC = rig.connect(tokenC, c);
  await connectorC.waitFor(/state: online/);
  await answered(load, 'upstream-C');

  const result = await load.stop();
  expect(result.failures).toEqual([]);
  expect(new Set(await answeredBy('swap-too', 10))).toEqual(new Set(['upstream-C']));
  expect(b.requests.slice(servedBefore).filter((r) => r.aborted)).toEqual([]);
}, 60_000);
