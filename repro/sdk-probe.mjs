// Drives the real client libraries the README names through a running gateway, in ways the
// integration tests do not: openai's responses.stream (with a tool), anthropic's
// messages.stream with tools and a tool_result round trip, ollama-js chat stream abort.
// Usage: KEY=sk-tokios-… node repro/sdk-probe.mjs GATEWAY_URL LLAMA_DEPLOYMENT OLLAMA_DEPLOYMENT
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
const [url, llama, gemma] = process.argv.slice(2);
const key = process.env.KEY;
const report = (name, fn) => fn().then((v) => console.log(`ok   ${name}: ${v}`), (e) => console.log(`FAIL ${name}: ${e?.constructor?.name} ${String(e?.message ?? e).slice(0, 300)}`));
const openai = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: url, apiKey: key, maxRetries: 0 });
const weather = { type: 'function', name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

for (const model of [llama, gemma]) {
  await report(`openai responses.stream text (${model})`, async () => {
    const stream = openai.responses.stream({ model, input: 'Say hi', max_output_tokens: 8 });
    let text = '';
    stream.on('response.output_text.delta', (e) => (text += e.delta));
    const final = await stream.finalResponse();
    return `${JSON.stringify(text.slice(0, 40))} final.output_text=${JSON.stringify(final.output_text.slice(0, 40))} status=${final.status} model=${final.model}`;
  });
  await report(`openai responses.stream tool call + result (${model})`, async () => {
    const stream = openai.responses.stream({ model, input: 'Weather?', tools: [weather] });
    const first = await stream.finalResponse();
    const call = first.output.find((o) => o.type === 'function_call');
    if (!call) throw new Error(`no function_call in ${JSON.stringify(first.output).slice(0, 200)}`);
    const second = await openai.responses.stream({ model, tools: [weather], input: [{ role: 'user', content: 'Weather?' }, call, { type: 'function_call_output', call_id: call.call_id, output: 'sunny' }] }).finalResponse();
    return `call ${call.name}(${call.arguments}) -> ${JSON.stringify(second.output_text.slice(0, 60))}`;
  });
  await report(`anthropic messages.stream tools + tool_result (${model})`, async () => {
    const tools = [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const s1 = anthropic.messages.stream({ model, max_tokens: 64, tools, messages: [{ role: 'user', content: 'Weather?' }] });
    const jsonDeltas = [];
    s1.on('inputJson', (d) => jsonDeltas.push(d));
    const m1 = await s1.finalMessage();
    const use = m1.content.find((b) => b.type === 'tool_use');
    if (!use) throw new Error(`no tool_use: ${JSON.stringify(m1.content).slice(0, 200)}`);
    const m2 = await anthropic.messages.stream({ model, max_tokens: 64, tools, messages: [{ role: 'user', content: 'Weather?' }, { role: 'assistant', content: m1.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny' }] }] }).finalMessage();
    return `tool_use ${use.name} ${JSON.stringify(use.input)} (stop ${m1.stop_reason}, ${jsonDeltas.length} input_json deltas) -> ${JSON.stringify(m2.content[0]?.text?.slice(0, 60))}`;
  });
  await report(`anthropic messages.countTokens (${model})`, async () => JSON.stringify(await anthropic.messages.countTokens({ model, messages: [{ role: 'user', content: 'hi' }] })));
}
await report(`ollama chat stream abort (${gemma})`, async () => {
  const ollama = new Ollama({ host: url, headers: { Authorization: `Bearer ${key}` } });
  const stream = await ollama.chat({ model: gemma, stream: true, messages: [{ role: 'user', content: 'long story' }], options: { num_predict: 2000 } });
  let parts = 0;
  try { for await (const part of stream) { parts++; if (parts === 3) stream.abort(); } } catch (e) { if (e.name !== 'AbortError') throw e; }
  const after = await ollama.chat({ model: gemma, messages: [{ role: 'user', content: 'hi' }] });
  return `aborted after ${parts} parts; next chat answered ${JSON.stringify(after.message.content.slice(0, 30))} model=${after.model}`;
});
await report(`ollama chat on a llama.cpp deployment (${llama})`, async () => {
  const ollama = new Ollama({ host: url, headers: { Authorization: `Bearer ${key}` } });
  return JSON.stringify(await ollama.chat({ model: llama, messages: [{ role: 'user', content: 'hi' }] }));
});
