// Sends N Messages requests (each 150,000 tool_result blocks: the translator throws a
// RangeError) for a deployment whose tunnel has *just dropped*, so each waits in the offline
// grace period. When the tunnel comes back, each throw escapes as an unhandled rejection
// (waitAndForward runs under `void`); more than 10 a minute make the gateway exit (code 70).
// Usage: node repro/translator-throw-in-grace.mjs GATEWAY_URL API_KEY DEPLOYMENT [N=12]
const [url, key, model, n = '12'] = process.argv.slice(2);
const blocks = Array.from({ length: 150_000 }, (_, i) => ({ type: 'tool_result', tool_use_id: `t${i}`, content: '' }));
const body = JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: blocks }] });
const results = await Promise.allSettled(Array.from({ length: Number(n) }, () =>
  fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body, signal: AbortSignal.timeout(30_000) })
    .then(async (r) => `${r.status} ${(await r.text()).slice(0, 100)}`)));
for (const r of results) console.log(r.status === 'fulfilled' ? r.value : `failed: ${r.reason?.cause?.code ?? r.reason}`);
