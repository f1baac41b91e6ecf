// Sends one small translated request (/v1/messages, streaming unless STREAM=0) to DEPLOYMENT and
// reports the gateway's CPU time, peak RSS and slowest /healthz while it is answered.
// Usage: node repro/translated-stream-client.mjs GATEWAY_URL API_KEY DEPLOYMENT GATEWAY_PID [concurrency]
import { readFileSync } from 'node:fs';
const [url, key, model, pid, concurrency = '1'] = process.argv.slice(2);
const stream = process.env.STREAM !== '0';
const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
let peak = rss(), worst = 0, done = false;
const cpu0 = cpu();
console.log(`gateway RSS before ${rss().toFixed(0)} MB`);
const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 20);
const health = (async () => {
  while (!done) {
    const t = performance.now();
    await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(120_000) }).then((r) => r.arrayBuffer()).catch(() => {});
    worst = Math.max(worst, performance.now() - t);
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const t0 = performance.now();
const one = async () => {
  const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model, max_tokens: 10, stream, messages: [{ role: 'user', content: 'hi' }] }), signal: AbortSignal.timeout(Number(process.env.TIMEOUT_MS ?? 300_000)) });
  const text = await res.text();
  return `${res.status} ${text.length} bytes: ${text.slice(0, 200).replace(/\n/g, ' | ')}`;
};
const results = await Promise.allSettled(Array.from({ length: Number(concurrency) }, one));
done = true; await health; clearInterval(sampler);
console.log(`first answer: ${results[0].status === 'fulfilled' ? results[0].value : results[0].reason}`);
console.log(`${concurrency} request(s) in ${(performance.now() - t0).toFixed(0)} ms; gateway CPU ${cpu() - cpu0} ms; RSS peak ${peak.toFixed(0)} MB; slowest /healthz meanwhile ${worst.toFixed(0)} ms`);
