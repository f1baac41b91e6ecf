// Repro: a 32 MB body of ~6M empty objects on a *translated* route (/v1/messages to a
// llama.cpp-backed deployment) makes the gateway JSON.parse it whole.
// Usage: node repro/translated-body-memory.mjs GATEWAY_URL API_KEY DEPLOYMENT GATEWAY_PID [path]
// Prints the gateway's peak RSS and the slowest /healthz while the request is in flight.
import { readFileSync } from 'node:fs';
const [url, key, model, pid, path = '/v1/messages'] = process.argv.slice(2);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const head = Buffer.from(`{"model":${JSON.stringify(model)},"max_tokens":5,"messages":[{"role":"user","content":[`);
const tail = Buffer.from(']}]}');
const unit = Buffer.from('{},');
const n = Math.floor((32 * 1024 * 1024 - 200 - head.length - tail.length) / unit.length);
const body = Buffer.concat([head, Buffer.alloc(unit.length * n, unit).subarray(0, unit.length * n - 1), tail]);
console.log(`body ${(body.length / 1048576).toFixed(1)} MB, ${n} empty objects; gateway RSS before ${rss().toFixed(0)} MB`);
let peak = rss(), worstHealth = 0, done = false;
const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
const health = (async () => {
  while (!done) {
    const t = performance.now();
    await fetch(`${url}/healthz`).then((r) => r.arrayBuffer()).catch(() => {});
    worstHealth = Math.max(worstHealth, performance.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
})();
const t0 = performance.now();
const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'x-api-key': key, authorization: `Bearer ${key}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body });
const text = await res.text();
done = true; await health; clearInterval(sampler);
console.log(`answer ${res.status} after ${(performance.now() - t0).toFixed(0)} ms: ${text.slice(0, 160)}`);
console.log(`gateway RSS peak ${peak.toFixed(0)} MB (after ${rss().toFixed(0)} MB); slowest /healthz meanwhile ${worstHealth.toFixed(0)} ms`);
