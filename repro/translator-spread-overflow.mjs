// A Messages request whose user turn holds 300,000 tool_result blocks (~12 MB, well under the
// 32 MB limit): the translator spreads them into push(...), which throws a RangeError that is
// not a TranslationError. Expected: 400 in Anthropic's shape. Observed: 500 "Internal gateway
// error" and an ERROR line (no rate limit) per request.
// Usage: node repro/translator-spread-overflow.mjs GATEWAY_URL API_KEY DEPLOYMENT [count]
const [url, key, model, count = '3'] = process.argv.slice(2);
const blocks = Array.from({ length: 300_000 }, (_, i) => ({ type: 'tool_result', tool_use_id: `t${i}`, content: '' }));
const body = JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: blocks }] });
console.log(`body ${(body.length / 1048576).toFixed(1)} MB`);
for (let i = 0; i < Number(count); i++) {
  const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body });
  console.log(res.status, (await res.text()).slice(0, 200));
}
