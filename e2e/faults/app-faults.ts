import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppCore } from '../../main/core/app-core.js';
import { addLogSink } from '../../main/logging/logger.js';
import { ChildProcessSpawner } from '../../main/supervisor/child-process-spawner.js';
import { startCore, waitForDeployment } from '../support/core-rig.js';
import { startFakeLlamaServer } from '../support/fake-llama-server.js';
import { startFakeOllama } from '../support/fake-ollama.js';
import { REPO_ROOT, runTokios } from '../support/processes.js';
import { eventually, sleep, type FaultReport, type Scale } from './fault-report.js';

/** The app's own faults and abuse: crash loops, a folder of hostile files, a canary secret. */

async function mintToken(app: AppCore): Promise<string> {
  const gateway = await app.handlers['gateway.info']();
  const { apiKey } = await app.handlers['gateway.revealApiKey']();
  const response = await fetch(`${gateway.url}/v1/tunnel-tokens`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } });
  return ((await response.json()) as { token: string }).token;
}

async function chatThrough(app: AppCore, model: string): Promise<string> {
  const gateway = await app.handlers['gateway.info']();
  const { apiKey } = await app.handlers['gateway.revealApiKey']();
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }] }),
  });
  return response.ok ? ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content : `HTTP ${response.status}`;
}

/** A worker that crashes on start: restarts follow the policy, then stop at the cap. */
export async function crashLoop(report: FaultReport): Promise<void> {
  const spawned: number[] = [];
  const crashing = new ChildProcessSpawner(join(REPO_ROOT, 'e2e', 'support', 'crashing-worker.mjs'));
  const policy = { baseMs: 200, capMs: 1000, stableMs: 60_000, crashLoop: { exits: 5, windowMs: 60_000 } };
  const rig = await startCore({ spawner: { spawn: (label: string) => (spawned.push(Date.now()), crashing.spawn(label)) }, restart: policy });
  try {
    const upstream = await startFakeOllama();
    const deployment = await rig.core.handlers['deployments.create']({ name: 'doomed', upstream: upstream.url });
    const flagged = await eventually(async () => (await rig.core.handlers['deployments.list']()).find((d) => d.id === deployment.id)?.health.state === 'crash-looping', 15_000, 50);
    await sleep(2500);
    const gaps = spawned.slice(1).map((t, i) => t - spawned[i]!);
    // Each delay is drawn below the policy's ceiling (full jitter), plus the time a process takes to start and die.
    const expected = gaps.map((_, i) => Math.min(policy.capMs, policy.baseMs * 2 ** i));
    const followed = gaps.every((gap, i) => gap < expected[i]! + 1500);
    const beyondCap = spawned.length - policy.crashLoop.exits;
    await upstream.close();
    report.add({
      area: 'faults', scenario: 'a worker that crashes in a loop', tried: spawned.length, survived: spawned.length,
      lost: (flagged ? 0 : 1) + (followed ? 0 : 1) + Math.max(0, beyondCap),
      figures: `restart delays ${gaps.map((g) => `${g}`).join(', ')} ms for a policy of up to ${expected.join(', ')} ms (full jitter); crash-looping after ${spawned.length} exits; no restart after`,
    });
  } finally {
    await rig.close();
  }
}

const hash = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Partial writes, rapid edits, a symlink swapped in, invalid UTF-8: last good settings keep running. */
export async function configFolderAbuse(report: FaultReport, scale: Scale): Promise<void> {
  const rig = await startCore();
  const ollama = await startFakeOllama({ label: 'ollama' });
  const llama = await startFakeLlamaServer({ label: 'llama.cpp' });
  const written = new Map<string, string>();
  const write = (file: string, content: string | Buffer): void => {
    writeFileSync(file, content);
    written.set(file, hash(file));
  };
  let lost = 0;
  let tried = 0;
  try {
    const app = rig.core;
    const token = await mintToken(app);
    const file = join(rig.configDir, 'tokios-abuse.json');
    const good = (upstream: string): string => JSON.stringify({ tunnel_token: token, upstream, name: 'abuse', model: upstream === ollama.url ? 'gemma3:4b' : undefined });
    write(file, good(ollama.url));
    await waitForDeployment(app, (d) => d.name === 'abuse' && d.health.state === 'online');

    // A partial write: half the file, then the rest. The half is never applied.
    tried++;
    const text = good(llama.url);
    writeFileSync(file, text.slice(0, text.length / 2));
    await sleep(40);
    write(file, text);
    const switched = await eventually(async () => (await chatThrough(app, 'abuse')).includes('llama.cpp'), 10_000, 100);
    const flapped = app.deployments().find((d) => d.name === 'abuse')?.configError;
    if (!switched || flapped) lost++;

    // Rapid edits: the last one wins, nothing crashes.
    const edits = scale === 'full' ? 100 : 30;
    tried++;
    for (let i = 0; i < edits; i++) {
      writeFileSync(file, good(i % 2 ? llama.url : ollama.url));
      await sleep(2);
    }
    write(file, good(ollama.url));
    if (!(await eventually(async () => (await chatThrough(app, 'abuse')).includes('ollama'), 10_000, 100))) lost++;

    // A symlink swapped in for the file: refused; the last good settings keep serving.
    tried++;
    const elsewhere = join(rig.configDir, '..', 'elsewhere.json');
    write(elsewhere, good(llama.url));
    symlinkSync(elsewhere, `${file}.link`);
    renameSync(`${file}.link`, file); // atomically, as `ln -sf` does
    written.delete(file);
    const refused = await waitForDeployment(app, (d) => d.name === 'abuse' && (d.configError ?? '').includes('symbolic link')).then(() => true, () => false);
    // The link is not followed: 'abuse' keeps its last good settings (Ollama).
    if (!refused || !(await chatThrough(app, 'abuse')).includes('ollama')) lost++;

    // Invalid UTF-8 in another file: an error naming it; running deployments untouched.
    tried++;
    const other = join(rig.configDir, 'tokios-bytes.json');
    write(other, good(ollama.url).replace('abuse', 'bytes'));
    await waitForDeployment(app, (d) => d.name === 'bytes' && d.health.state === 'online');
    write(other, Buffer.concat([Buffer.from('{"tunnel_token": "'), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from('"}')]));
    const flagged = await waitForDeployment(app, (d) => d.name === 'bytes' && (d.configError ?? '').includes('UTF-8')).then((d) => d.configError?.includes(other), () => false);
    const stillServes = (await chatThrough(app, 'bytes')).includes('ollama');
    if (!flagged || !stillServes) lost++;

    // Every file the test wrote is exactly as it left it: the app never rewrote one.
    const changed = [...written].filter(([path, digest]) => hash(path) !== digest).length;
    report.add({
      area: 'bad input', scenario: `config folder: partial write, ${edits} rapid edits, a symlink swapped in, invalid UTF-8`, tried, survived: tried - lost, lost: lost + changed,
      figures: `last good settings kept serving each time; ${written.size} user files byte-identical afterwards`,
    });
  } finally {
    await rig.close();
    await ollama.close();
    await llama.close();
  }
}

/** A canary token and key: never in logs, command lines, errors, API results or files (but exports). */
export async function canarySecrets(report: FaultReport): Promise<void> {
  const lines: string[] = [];
  const stopLogs = addLogSink((r) => lines.push(r.message));
  const rig = await startCore();
  const upstream = await startFakeOllama({ models: ['gemma3:4b'] });
  try {
    const app = rig.core;
    const token = await mintToken(app);
    const { apiKey } = await app.handlers['gateway.revealApiKey']();
    const canaries = [token, apiKey];
    const results: unknown[] = [];
    const events: unknown[] = [];
    for (const event of ['deployment.updated', 'deployment.state', 'request.logged', 'logs.appended', 'gateway.changed', 'test.chat'] as const) app.on(event, (p) => events.push(p));
    const created = await app.handlers['deployments.create']({ name: 'canary', upstream: upstream.url, model: 'gemma3:4b', token });
    results.push(created);
    await waitForDeployment(app, (d) => d.name === 'canary' && d.health.state === 'online');
    await chatThrough(app, 'canary');
    results.push(await app.handlers['deployments.list'](), await app.handlers['gateway.info'](), await app.handlers['app.info'](), await app.handlers['requests.list']({ deploymentId: created.id }), await app.handlers['logs.list']());
    // Errors that involve the secrets.
    const errors: string[] = [];
    for (const attempt of [
      () => app.handlers['deployments.create']({ name: 'canary', upstream: upstream.url, token }),
      () => app.handlers['deployments.create']({ name: 'bad name!', upstream: upstream.url, token }),
      () => app.handlers['deployments.create']({ name: 'x', upstream: upstream.url, token: `${token} trailing` }),
      () => app.handlers['deployments.import']({ text: JSON.stringify({ tunnel_token: `${token}!`, upstream: 'nope' }), fileName: 'tokios-x.json' }),
    ]) {
      try {
        await attempt();
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    const cli = await runTokios(['register', '--gateway', (await app.handlers['gateway.info']()).url, '--name', 'bad name!', '--token', token]);
    errors.push(cli.stderr);
    const exported = await app.handlers['deployments.export']({ id: created.id });
    const exportPath = exported.outcome === 'saved' ? exported.path : '';
    results.push(exported);

    const leaks: string[] = [];
    const check = (where: string, text: string): void => {
      for (const canary of canaries) if (text.includes(canary)) leaks.push(where);
    };
    check('API results', JSON.stringify(results));
    check('API events', JSON.stringify(events));
    check('log lines', lines.join('\n'));
    check('worker output', rig.workerLines.join('\n'));
    check('error messages', errors.join('\n'));
    for (const pid of app.workerPids()) check(`worker ${pid} command line`, readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    for (const pid of app.workerPids()) check(`worker ${pid} environment`, readFileSync(`/proc/${pid}/environ`, 'utf8'));
    // Every file on disk but the deliberate export and the headless secret store (the owner-only file that is this mode's keychain).
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else files.push(path);
      }
    };
    walk(join(rig.dataDir, '..'));
    for (const file of files) {
      if (file === exportPath || file.endsWith('/secrets.json')) continue;
      check(`file ${file}`, readFileSync(file, 'latin1'));
    }
    const secretsMode = statSync(join(rig.dataDir, 'secrets.json')).mode & 0o777;
    report.add({
      area: 'bad input', scenario: 'a canary tunnel token and API key', tried: 7, survived: 7 - new Set(leaks.map((l) => l.split(' ')[0])).size, lost: leaks.length + (secretsMode === 0o600 ? 0 : 1),
      figures: leaks.length
        ? `found in: ${leaks.join(', ')}`
        : `not in logs, worker output, command lines, environments, error messages, API results or events, nor in ${files.filter((f) => f !== exportPath && !f.endsWith('/secrets.json')).map((f) => f.split('/').slice(-2).join('/')).join(', ')} (only in the deliberate export and the 0600 secret store)`,
    });
  } finally {
    stopLogs();
    await rig.close();
    await upstream.close();
  }
}
