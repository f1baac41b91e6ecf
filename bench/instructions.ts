import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecret, runTokios, tempDir, TOKIOS_BIN } from '../e2e/support/processes.js';
import { agentFor, exchange, pacedStreams, type Target } from './load.js';
import { startUpstream } from './targets.js';

/**
 * Instructions per token and per request in the gateway and the connector, counted by
 * valgrind's callgrind: unlike CPU time, the count repeats run after run however busy the
 * machine is, so two builds compare exactly (TOKIOS_TEST_BIN points at another build's
 * dist/main/cli/tokios.js).
 *
 *   npm run build && node --import tsx bench/instructions.ts [streams] [tokens/s per stream] [tokens per stream]
 *
 * Both processes run under callgrind, about 50 times slower than normal, so the pace is
 * kept low (4 streams x 20 tokens/s by default): every token still arrives alone, as at a
 * real model's pace, rather than in the batches an overloaded process would see. Counting
 * starts after a warm-up (V8 has compiled the hot paths) and covers the measured exchanges
 * only, heartbeats and timers included. V8 runs `--single-threaded`: its compiler and
 * garbage collector then work on the main thread, in step with the requests, instead of
 * on helper threads whose timing (and so whose share of a window) varies from run to run.
 */

const streams = Number(process.argv[2] ?? 4);
const rate = Number(process.argv[3] ?? 20);
const tokens = Number(process.argv[4] ?? 250);
const requests = 200;
const log = (text: string): void => void process.stderr.write(`${text}\n`);

function underCallgrind(name: string, dir: string, args: string[]): ChildProcess {
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${join(dir, `${name}.%p`)}`, '--dump-instr=no', process.execPath, '--single-threaded', TOKIOS_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TOKIOS_LOG_LEVEL: 'warn' },
  });
  child.stderr!.resume();
  return child;
}

/** Instructions the process executed since the last zero: dumps and reads the newest dump. */
function instructionsSinceZero(pid: number, dir: string, name: string): number {
  spawnSync('callgrind_control', ['-d', String(pid)]);
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`${name}.${pid}.`)).sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
  const text = readFileSync(join(dir, dumps[dumps.length - 1]!), 'utf8');
  return Number(/^summary: (\d+)/m.exec(text)?.[1] ?? /^totals: (\d+)/m.exec(text)?.[1]);
}

async function main(): Promise<void> {
  const dir = tempDir('tokios-instructions-');
  const upstream = await startUpstream();
  const dataDir = join(dir.path, 'gw');
  const children: ChildProcess[] = [];
  try {
    const gateway = underCallgrind('gateway', dir.path, ['gateway', '--port', '0', '--data', dataDir]);
    children.push(gateway);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      gateway.stdout!.on('data', (text: Buffer) => {
        out += text.toString();
        const match = /^(http:\/\/\S+)$/m.exec(out);
        if (match) resolve(match[1]!);
      });
      gateway.once('exit', () => reject(new Error(`gateway exited: ${out}`)));
    });
    const key = await createSecret('key', dataDir);
    const token = await createSecret('token', dataDir);
    const registered = await runTokios(['register', '--gateway', url, '--name', 'bench', '--token', token]);
    if (registered.code !== 0) throw new Error(registered.stderr);
    const config = join(dir.path, 'tokios-bench.json');
    writeFileSync(config, JSON.stringify({ tunnel_token: token, upstream: upstream.base, model: 'bench' }));
    const connector = underCallgrind('connector', dir.path, ['connect', '--config', config, '--gateway', url]);
    children.push(connector);
    const target: Target = { name: 'tokios', base: url, headers: { authorization: `Bearer ${key}` }, pids: [] };
    for (;;) {
      const response = await fetch(`${url}/v1/models`, { headers: target.headers });
      if (((await response.json()) as { data: unknown[] }).data.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    log(`under callgrind; warming up (${TOKIOS_BIN})`);
    const interval = 1000 / rate;
    await upstream.configure({ intervalMs: interval });
    const agent = agentFor(1);
    // Long enough for V8 to have compiled every hot path with its optimising tier.
    for (let round = 0; round < 4; round++) {
      await upstream.configure({ intervalMs: interval });
      await pacedStreams(target, streams, tokens, interval);
      await upstream.configure({});
      for (let i = 0; i < requests; i++) await exchange(agent, target, false, 1);
    }

    const pids = { gateway: gateway.pid!, connector: connector.pid! };
    const measure = async (work: () => Promise<void>): Promise<Record<string, number>> => {
      for (const pid of Object.values(pids)) spawnSync('callgrind_control', ['-z', String(pid)]);
      await work();
      return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, instructionsSinceZero(pid, dir.path, name)]));
    };
    // Three windows each; the median, and the spread as a check that the count repeats.
    const windows = async (work: () => Promise<void>): Promise<Record<string, number>> => {
      const counts = [await measure(work), await measure(work), await measure(work)];
      log(`windows: ${counts.map((c) => `${c.gateway}/${c.connector}`).join(', ')}`);
      return Object.fromEntries(Object.keys(pids).map((name) => [name, counts.map((c) => c[name]!).sort((a, b) => a - b)[1]!]));
    };
    await upstream.configure({ intervalMs: interval });
    const streamed = await windows(async () => void (await pacedStreams(target, streams, tokens, interval)));
    await upstream.configure({});
    const plain = await windows(async () => {
      for (let i = 0; i < requests; i++) await exchange(agent, target, false, 1);
    });
    agent.destroy();
    const perToken = (n: number): string => `${Math.round(n / (streams * tokens)).toLocaleString('en-US')}`;
    const perRequest = (n: number): string => `${Math.round(n / requests).toLocaleString('en-US')}`;
    process.stdout.write(
      `instructions per token at ${streams} streams x ${rate} tokens/s: gateway ${perToken(streamed.gateway!)}, connector ${perToken(streamed.connector!)}, together ${perToken(streamed.gateway! + streamed.connector!)}\n` +
      `instructions per non-streaming request: gateway ${perRequest(plain.gateway!)}, connector ${perRequest(plain.connector!)}, together ${perRequest(plain.gateway! + plain.connector!)}\n`,
    );
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await upstream.stop();
    // KEEP_DUMPS=1 keeps callgrind's files for callgrind_annotate.
    if (process.env.KEEP_DUMPS) log(`dumps kept in ${dir.path}`);
    else dir.remove();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
