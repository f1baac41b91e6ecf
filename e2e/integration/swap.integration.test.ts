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

/** `concurrency` clients sending streaming requests back to back until stopped. */
function startLoad(model: string, concurrency: number): { stop: () => Promise<LoadResult> } {
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
    stop: async () => {
      running = false;
      await Promise.all(workers);
      return result;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
  await sleep(400);

  const tokenB = await rig.newToken();
  const connectorB = rig.connect(tokenB, b);
  await connectorB.waitFor(/state: waiting/);
  await sleep(300);
  await rig.register('swap-me', tokenB);
  await connectorB.waitFor(/state: online/);
  await sleep(500);

  const result = await load.stop();
  expect(result.failures).toEqual([]);
  expect(result.answeredBy['upstream-A']).toBeGreaterThan(0);
  expect(result.answeredBy['upstream-B']).toBeGreaterThan(0);
  expect(new Set(await answeredBy('swap-me', 10))).toEqual(new Set(['upstream-B']));
  // The old backend finished what it had: nothing it started was cut off.
  expect(a.requests.filter((r) => r.aborted)).toEqual([]);
});

it('swaps under load with the re-registration first, then the new connector: 0 failures', async () => {
  const c = upstreams[2]!;
  const load = startLoad('swap-me', 6);
  await sleep(300);

  const tokenC = await rig.newToken();
  await rig.register('swap-me', tokenC);
  // Until C's connector is online, B keeps serving.
  await sleep(400);
  const connectorC = rig.connect(tokenC, c);
  await connectorC.waitFor(/state: online/);
  await sleep(500);

  const result = await load.stop();
  expect(result.failures).toEqual([]);
  expect(result.answeredBy['upstream-B']).toBeGreaterThan(0);
  expect(result.answeredBy['upstream-C']).toBeGreaterThan(0);
  expect(new Set(await answeredBy('swap-me', 10))).toEqual(new Set(['upstream-C']));
  expect(upstreams[1]!.requests.filter((r) => r.aborted)).toEqual([]);
});
