import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import Anthropic from '@anthropic-ai/sdk';
import { type AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { APICallError, embed, generateText, stepCountIs, streamText, tool } from 'ai';
import { Ollama, type Message as OllamaMessage, type Tool as OllamaTool } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startFakeLlamaServer, type FakeLlamaServer } from '../support/fake-llama-server.js';
import { startFakeOllama, type FakeOllama } from '../support/fake-ollama.js';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../support/fake-openai-server.js';
import type { FakeUpstream } from '../support/fake-upstream-base.js';
import { TunnelRig } from '../support/tunnel-rig.js';

/**
 * The client libraries people use, unchanged, through a real gateway and real connectors
 * to the test upstreams: chat, streaming, abort, a tool call and its result, embeddings,
 * model listing, and the errors (wrong key, unknown model, offline, an endpoint the
 * upstream lacks) as each library shows them. One gateway and its connectors serve the
 * whole file:
 *
 * | deployment   | upstream                                                     |
 * |--------------|--------------------------------------------------------------|
 * | llama3-local | llama-server (Chat Completions only: Messages and Responses are translated) |
 * | gemma-tunnel | Ollama 0.6 (native API; Messages and Responses translated)   |
 * | gemma-new    | Ollama 0.14 (serves Messages and Responses itself: passed through) |
 * | mini         | a minimal OpenAI-compatible server without embeddings        |
 * | sleeping     | registered, no connector (offline)                           |
 */

const ORIGIN = 'http://app.example';
let rig: TunnelRig;
let llama: FakeLlamaServer;
let ollama: FakeOllama;
let ollamaNew: FakeOllama;
let mini: FakeOpenAIServer;

beforeAll(async () => {
  [rig, llama, ollama, ollamaNew, mini] = await Promise.all([
    new TunnelRig(['--cors-origin', ORIGIN]).start(),
    startFakeLlamaServer(),
    startFakeOllama({ models: ['gemma3:4b'] }),
    startFakeOllama({ models: ['gemma3:4b'], nativeDialects: true, label: 'ollama 0.14' }),
    startFakeOpenAIServer(),
  ]);
  const sleeping = await rig.newToken();
  await Promise.all([
    rig.deploy('llama3-local', llama),
    rig.deploy('gemma-tunnel', ollama),
    rig.deploy('gemma-new', ollamaNew),
    rig.deploy('mini', mini),
    rig.register('sleeping', sleeping),
  ]);
}, 60_000);

afterAll(async () => {
  await rig?.close();
  await Promise.all([llama?.close(), ollama?.close(), ollamaNew?.close(), mini?.close()]);
});

const WORDS = ' word1 word2 word3 word4 word5 word6 word7';
const WEATHER = { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } as const;

/** Rejects with whatever the library throws. */
async function failure(promise: Promise<unknown>): Promise<Error & Record<string, any>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, any>;
  }
  throw new Error('expected the call to fail');
}

/** Starts a slow generation, lets `start` read its first piece and abort; resolves once the upstream saw the abort. */
async function expectAbortReachesUpstream(upstream: FakeUpstream, start: () => Promise<void>): Promise<void> {
  upstream.tokenIntervalMs = 50;
  try {
    const before = upstream.requests.length;
    await start();
    await expect.poll(() => upstream.requests.slice(before).some((r) => r.aborted), { timeout: 5000, interval: 20 }).toBe(true);
    const request = upstream.requests.slice(before).find((r) => r.aborted)!;
    expect(request.tokensSent).toBeLessThan(100);
  } finally {
    upstream.tokenIntervalMs = 0;
  }
}

describe('openai', () => {
  const client = (): OpenAI => new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: rig.apiKey, maxRetries: 0 });

  it('chat and stream, answered under the deployment name', async () => {
    const completion = await client().chat.completions.create({ model: 'llama3-local', messages: [{ role: 'user', content: 'Hi' }] });
    expect(completion.choices[0]!.message.content).toBe(`Hello from llama.cpp.${WORDS}`);
    expect(completion.model).toBe('llama3-local');
    const stream = await client().chat.completions.create({ model: 'gemma-tunnel', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    const models = new Set<string>();
    let text = '';
    for await (const chunk of stream) {
      models.add(chunk.model);
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe(`Hello from ollama.${WORDS}`);
    expect([...models]).toEqual(['gemma-tunnel']);
  });

  it('abort', async () => {
    await expectAbortReachesUpstream(llama, async () => {
      const stream = await client().chat.completions.create({ model: 'llama3-local', stream: true, max_tokens: 500, messages: [{ role: 'user', content: 'Hi' }] });
      for await (const _chunk of stream) break;
    });
  });

  it('tools: a call streamed in pieces, then its result', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: WEATHER } }];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const stream = client().chat.completions.stream({ model: 'llama3-local', messages, tools });
    const call = (await stream.finalMessage()).tool_calls![0]!;
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ location: 'Paris' });
    messages.push({ role: 'assistant', tool_calls: [call] }, { role: 'tool', tool_call_id: call.id, content: '18°C' });
    const answer = await client().chat.completions.create({ model: 'llama3-local', messages, tools });
    expect(answer.choices[0]!.message.content).toBe('The tool said: 18°C');
  });

  it('embeddings, and list and retrieve models', async () => {
    const embedding = await client().embeddings.create({ model: 'gemma-tunnel', input: ['one', 'two'] });
    expect(embedding.data.map((d) => d.embedding.length)).toEqual([8, 8]);
    expect(embedding.model).toBe('gemma-tunnel');
    const ids = (await client().models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['llama3-local', 'gemma-tunnel', 'gemma-new', 'mini']));
    expect(ids).not.toContain('sleeping');
    expect(await client().models.retrieve('gemma-new')).toMatchObject({ id: 'gemma-new', object: 'model' });
  });

  it('Responses API: translated for llama-server and Ollama 0.6, passed through to Ollama 0.14', async () => {
    const response = await client().responses.create({ model: 'llama3-local', instructions: 'Be brief.', input: 'Hi' });
    expect(response.output_text).toBe(`Hello from llama.cpp.${WORDS}`);
    expect(response.model).toBe('llama3-local');
    expect((llama.requestsTo('/v1/chat/completions').at(-1)!.json as { messages: unknown[] }).messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]);

    const stream = client().responses.stream({ model: 'gemma-tunnel', input: 'Hi' });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    expect(text).toBe(`Hello from ollama.${WORDS}`);
    expect((await stream.finalResponse()).output_text).toBe(text);

    const tools = [{ type: 'function' as const, name: 'get_weather', parameters: WEATHER, strict: false }];
    const called = await client().responses.create({ model: 'llama3-local', input: 'Weather in Paris?', tools, stream: true });
    const items: OpenAI.Responses.ResponseOutputItem[] = [];
    for await (const event of called) if (event.type === 'response.output_item.done') items.push(event.item);
    const fc = items.find((i) => i.type === 'function_call')!;
    expect(fc.type === 'function_call' && JSON.parse(fc.arguments)).toEqual({ location: 'Paris' });
    const done = await client().responses.create({
      model: 'llama3-local', tools,
      input: [{ role: 'user', content: 'Weather in Paris?' }, fc as OpenAI.Responses.ResponseFunctionToolCall, { type: 'function_call_output', call_id: (fc as OpenAI.Responses.ResponseFunctionToolCall).call_id, output: '18°C' }],
    });
    expect(done.output_text).toBe('The tool said: 18°C');

    const before = ollamaNew.requestsTo('/v1/responses').length;
    const native = await client().responses.create({ model: 'gemma-new', input: 'Hi' });
    expect(native.output_text).toBe(`Hello from ollama 0.14.${WORDS}`);
    expect(native.model).toBe('gemma-new');
    expect(ollamaNew.requestsTo('/v1/responses').length).toBe(before + 1);
  });

  it('errors: wrong key, unknown model, offline, an endpoint the upstream lacks', async () => {
    const wrong = await failure(new OpenAI({ baseURL: `${rig.url}/v1`, apiKey: 'sk-tokios-wrong', maxRetries: 0 }).models.list());
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(wrong.message).toBe('401 Invalid API key: this gateway does not know it. Create one with `tokios key create --data DIR`.');
    expect(wrong.requestID).toMatch(/^req_/);
    const unknown = await failure(client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.message).toBe("404 The model 'gpt-4o' does not exist. Deployments on this gateway: gemma-new, gemma-tunnel, llama3-local, mini, sleeping.");
    const offline = await failure(client().chat.completions.create({ model: 'sleeping', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(offline).toBeInstanceOf(OpenAI.InternalServerError);
    expect(offline.message).toBe("503 Deployment 'sleeping' is offline: no connector is connected for it. Start its connector (tokios connect, or the Tokios app).");
    const lacking = await failure(client().embeddings.create({ model: 'mini', input: 'x' }));
    expect(lacking).toBeInstanceOf(OpenAI.InternalServerError);
    expect(lacking.message).toBe("501 Deployment 'mini': the openai upstream has no POST /v1/embeddings (it answered 404)");
  });
});

describe('@anthropic-ai/sdk', () => {
  const client = (): Anthropic => new Anthropic({ baseURL: rig.url, apiKey: rig.apiKey, maxRetries: 0 });

  it('messages and streams, translated for llama-server and Ollama 0.6', async () => {
    const message = await client().messages.create({ model: 'llama3-local', max_tokens: 8, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: `Hello from llama.cpp.${WORDS}` }]);
    expect(message.model).toBe('llama3-local');
    expect(message.usage).toMatchObject({ input_tokens: 29, output_tokens: 8 });
    const stream = client().messages.stream({ model: 'gemma-tunnel', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toBe(`Hello from ollama.${WORDS}`);
    expect(final).toMatchObject({ model: 'gemma-tunnel', stop_reason: 'end_turn', usage: { input_tokens: 12, output_tokens: 8 } });
  });

  it('passes through to an upstream that speaks Messages', async () => {
    const before = ollamaNew.requestsTo('/v1/messages').length;
    const message = await client().messages.create({ model: 'gemma-new', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: `Hello from ollama 0.14.${WORDS}` }]);
    expect(message.model).toBe('gemma-new');
    expect(ollamaNew.requestsTo('/v1/messages').length).toBe(before + 1);
  });

  it('images reach the upstream as image parts', async () => {
    await client().messages.create({
      model: 'llama3-local', max_tokens: 16,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }, { type: 'text', text: 'What is this?' }] }],
    });
    const seen = llama.requestsTo('/v1/chat/completions').at(-1)!.json as { messages: Array<{ content: unknown }> };
    expect(seen.messages.at(-1)!.content).toEqual([{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }, { type: 'text', text: 'What is this?' }]);
  });

  it('abort', async () => {
    await expectAbortReachesUpstream(llama, async () => {
      const stream = client().messages.stream({ model: 'llama3-local', max_tokens: 500, messages: [{ role: 'user', content: 'Hi' }] });
      await new Promise<void>((resolve) => stream.once('text', () => resolve()));
      stream.abort();
      await stream.done().catch(() => undefined);
    });
  });

  it('tools: a tool_use streamed in pieces, then its tool_result', async () => {
    const tools: Anthropic.Tool[] = [{ name: 'get_weather', description: 'Weather for a city', input_schema: WEATHER as unknown as Anthropic.Tool.InputSchema }];
    const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client().messages.stream({ model: 'llama3-local', max_tokens: 8, tools, messages }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
    expect(use).toMatchObject({ name: 'get_weather', input: { location: 'Paris' } });
    messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '18°C' }] });
    const answer = await client().messages.create({ model: 'llama3-local', max_tokens: 8, tools, messages });
    expect(answer.content).toEqual([{ type: 'text', text: 'The tool said: 18°C' }]);
  });

  it('lists and retrieves models in its own shape', async () => {
    const page = await client().models.list();
    expect(page.data.map((m) => m.id)).toEqual(expect.arrayContaining(['llama3-local', 'gemma-tunnel']));
    expect(await client().models.retrieve('mini')).toMatchObject({ type: 'model', id: 'mini', display_name: 'mini' });
  });

  it('errors: wrong key, unknown model, offline, an endpoint the upstream lacks', async () => {
    const wrong = await failure(new Anthropic({ baseURL: rig.url, apiKey: 'sk-tokios-wrong', maxRetries: 0 }).messages.create({ model: 'mini', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }));
    expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(wrong.message).toMatch(/^401 \{"type":"error","error":\{"type":"authentication_error","message":"Invalid API key: this gateway does not know it\./);
    expect(wrong.requestID).toMatch(/^req_/);
    const unknown = await failure(client().messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }));
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect(unknown.message).toContain('"type":"not_found_error","message":"The model \'claude-sonnet-4-5\' does not exist.');
    const offline = await failure(client().messages.create({ model: 'sleeping', max_tokens: 8, messages: [{ role: 'user', content: 'Hi' }] }));
    expect(offline).toBeInstanceOf(Anthropic.InternalServerError);
    expect(offline.message).toContain('"type":"overloaded_error","message":"Deployment \'sleeping\' is offline');
    const lacking = await failure(client().messages.countTokens({ model: 'llama3-local', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(lacking).toBeInstanceOf(Anthropic.InternalServerError);
    expect(lacking.message).toContain("Deployment 'llama3-local' runs on a llama.cpp (llama-server) upstream, which does not implement POST /v1/messages/count_tokens.");
  });
});

describe('ollama', () => {
  const client = (apiKey = rig.apiKey): Ollama => new Ollama({ host: rig.url, headers: { Authorization: `Bearer ${apiKey}` } });

  it('chat and stream on its native API', async () => {
    const reply = await client().chat({ model: 'gemma-tunnel', messages: [{ role: 'user', content: 'Hi' }] });
    expect(reply.message.content).toBe(`Hello from ollama.${WORDS}`);
    expect(reply.model).toBe('gemma-tunnel');
    const parts = await client().chat({ model: 'gemma-tunnel', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    let text = '';
    const models = new Set<string>();
    for await (const part of parts) {
      text += part.message.content;
      models.add(part.model);
    }
    expect(text).toBe(`Hello from ollama.${WORDS}`);
    expect([...models]).toEqual(['gemma-tunnel']);
  });

  it('abort', async () => {
    await expectAbortReachesUpstream(ollama, async () => {
      const ollamaClient = client();
      const parts = await ollamaClient.chat({ model: 'gemma-tunnel', stream: true, options: { num_predict: 500 }, messages: [{ role: 'user', content: 'Hi' }] });
      for await (const _part of parts) {
        parts.abort();
        break;
      }
    });
  });

  it('tools: a call, then its result', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: WEATHER } }] as unknown as OllamaTool[];
    const messages: OllamaMessage[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client().chat({ model: 'gemma-tunnel', messages, tools });
    expect(first.message.tool_calls?.[0]?.function).toEqual({ name: 'get_weather', arguments: { location: 'Paris' } });
    messages.push(first.message, { role: 'tool', content: '18°C' });
    const answer = await client().chat({ model: 'gemma-tunnel', messages, tools });
    expect(answer.message.content).toBe('The tool said: 18°C');
  });

  it('embeddings', async () => {
    const result = await client().embed({ model: 'gemma-tunnel', input: ['one', 'two'] });
    expect(result.embeddings.map((e) => e.length)).toEqual([8, 8]);
  });

  it('list, ps, show and version, answered by the gateway for the deployments', async () => {
    const names = (await client().list()).models.map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['llama3-local', 'gemma-tunnel', 'gemma-new', 'mini']));
    expect(names).not.toContain('sleeping');
    expect((await client().ps()).models.map((m) => m.name)).toEqual(expect.arrayContaining(['llama3-local', 'gemma-tunnel']));
    expect((await client().version()).version).toMatch(/^\d+\.\d+\.\d+$/);
    // An Ollama upstream describes its model itself; for others the gateway says what it knows.
    expect((await client().show({ model: 'gemma-tunnel' })).capabilities).toEqual(['completion', 'vision', 'tools']);
    expect(await client().show({ model: 'llama3-local' })).toMatchObject({ capabilities: ['completion'], model_info: { 'tokios.upstream_kind': 'llamacpp' } });
  });

  it('errors: wrong key, unknown model, offline, an endpoint the upstream lacks', async () => {
    const wrong = await failure(client('sk-tokios-wrong').list());
    expect(wrong.name).toBe('ResponseError');
    expect([wrong.status_code, wrong.message]).toEqual([401, 'Invalid API key: this gateway does not know it. Create one with `tokios key create --data DIR`.']);
    const unknown = await failure(client().chat({ model: 'llama3', messages: [{ role: 'user', content: 'Hi' }] }));
    expect([unknown.status_code, unknown.message]).toEqual([404, "The model 'llama3' does not exist. Deployments on this gateway: gemma-new, gemma-tunnel, llama3-local, mini, sleeping."]);
    const offline = await failure(client().chat({ model: 'sleeping', messages: [{ role: 'user', content: 'Hi' }] }));
    expect([offline.status_code, offline.message]).toEqual([503, "Deployment 'sleeping' is offline: no connector is connected for it. Start its connector (tokios connect, or the Tokios app)."]);
    const lacking = await failure(client().chat({ model: 'llama3-local', messages: [{ role: 'user', content: 'Hi' }] }));
    expect(lacking.status_code).toBe(501);
    expect(lacking.message).toMatch(/^Deployment 'llama3-local' runs on a llama\.cpp \(llama-server\) upstream, which does not implement POST \/api\/chat\. Use the OpenAI-compatible API/);
  });
});

describe('ai + @ai-sdk/openai-compatible', () => {
  const provider = (apiKey = rig.apiKey) => createOpenAICompatible({ name: 'tokios', baseURL: `${rig.url}/v1`, apiKey });

  it('generate and stream text', async () => {
    const result = await generateText({ model: provider()('llama3-local'), prompt: 'Hi', maxRetries: 0 });
    expect(result.text).toBe(`Hello from llama.cpp.${WORDS}`);
    expect(result.response.modelId).toBe('llama3-local');
    const stream = streamText({ model: provider()('gemma-tunnel'), prompt: 'Hi', maxRetries: 0 });
    let text = '';
    for await (const piece of stream.textStream) text += piece;
    expect(text).toBe(`Hello from ollama.${WORDS}`);
  });

  it('abort', async () => {
    await expectAbortReachesUpstream(ollama, async () => {
      const controller = new AbortController();
      const stream = streamText({ model: provider()('gemma-tunnel'), prompt: 'Hi', maxOutputTokens: 500, abortSignal: controller.signal, maxRetries: 0, onError: () => undefined });
      for await (const _piece of stream.textStream) {
        controller.abort();
        break;
      }
    });
  });

  it('tools: the SDK runs the tool and sends its result back', async () => {
    let asked: unknown = null;
    const result = await generateText({
      model: provider()('llama3-local'), prompt: 'Weather in Paris?', maxRetries: 0, stopWhen: stepCountIs(3),
      tools: { get_weather: tool({ description: 'Weather for a city', inputSchema: z.object({ location: z.string() }), execute: async (input) => ((asked = input), '18°C') }) },
    });
    expect(asked).toEqual({ location: 'Paris' });
    expect(result.text).toBe('The tool said: 18°C');
  });

  it('embeddings', async () => {
    const { embedding } = await embed({ model: provider().textEmbeddingModel('llama3-local'), value: 'one', maxRetries: 0 });
    expect(embedding).toHaveLength(8);
  });

  it('errors: wrong key, unknown model, offline, an endpoint the upstream lacks', async () => {
    const call = (model: string, apiKey?: string): Promise<unknown> => generateText({ model: provider(apiKey)(model), prompt: 'Hi', maxRetries: 0 });
    const wrong = await failure(call('mini', 'sk-tokios-wrong'));
    expect(APICallError.isInstance(wrong)).toBe(true);
    expect([wrong.statusCode, wrong.message]).toEqual([401, 'Invalid API key: this gateway does not know it. Create one with `tokios key create --data DIR`.']);
    const unknown = await failure(call('gpt-4o'));
    expect([unknown.statusCode, unknown.message]).toEqual([404, "The model 'gpt-4o' does not exist. Deployments on this gateway: gemma-new, gemma-tunnel, llama3-local, mini, sleeping."]);
    const offline = await failure(call('sleeping'));
    expect([offline.statusCode, offline.isRetryable]).toEqual([503, true]);
    const lacking = await failure(embed({ model: provider().textEmbeddingModel('mini'), value: 'x', maxRetries: 0 }));
    expect(APICallError.isInstance(lacking)).toBe(true);
    expect([lacking.statusCode, lacking.message]).toEqual([501, "Deployment 'mini': the openai upstream has no POST /v1/embeddings (it answered 404)"]);
  });
});

describe('@langchain/openai', () => {
  const chat = (model: string, extra: Record<string, unknown> = {}): ChatOpenAI => new ChatOpenAI({ model, apiKey: rig.apiKey, configuration: { baseURL: `${rig.url}/v1` }, maxRetries: 0, ...extra });

  it('invoke and stream, over Chat Completions and over the Responses API', async () => {
    const reply = await chat('llama3-local').invoke('Hi');
    expect(reply.content).toBe(`Hello from llama.cpp.${WORDS}`);
    expect(reply.response_metadata.model_name).toBe('llama3-local');
    let text = '';
    for await (const chunk of await chat('gemma-tunnel').stream('Hi')) text += chunk.content as string;
    expect(text).toBe(`Hello from ollama.${WORDS}`);
    const viaResponses = await chat('llama3-local', { useResponsesApi: true }).invoke('Hi');
    expect(viaResponses.text).toBe(`Hello from llama.cpp.${WORDS}`);
  });

  it('abort', async () => {
    await expectAbortReachesUpstream(llama, async () => {
      const controller = new AbortController();
      const stream = await chat('llama3-local', { maxTokens: 500 }).stream('Hi', { signal: controller.signal });
      await stream[Symbol.asyncIterator]().next();
      controller.abort();
    });
  });

  it('tools: a call, then its result', async () => {
    const model = chat('llama3-local').bindTools([{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: WEATHER } }]);
    const first = await model.invoke([new HumanMessage('Weather in Paris?')]);
    expect(first.tool_calls?.[0]).toMatchObject({ name: 'get_weather', args: { location: 'Paris' } });
    const answer = await model.invoke([new HumanMessage('Weather in Paris?'), first as AIMessage, new ToolMessage({ tool_call_id: first.tool_calls![0]!.id!, content: '18°C' })]);
    expect(answer.content).toBe('The tool said: 18°C');
  });

  it('embeddings', async () => {
    const embeddings = new OpenAIEmbeddings({ model: 'gemma-tunnel', apiKey: rig.apiKey, configuration: { baseURL: `${rig.url}/v1` }, maxRetries: 0 });
    expect(await embeddings.embedQuery('one')).toHaveLength(8);
  });

  it('errors: wrong key, unknown model, offline, an endpoint the upstream lacks', async () => {
    // LangChain rethrows the openai package's errors, tagged with a code and a troubleshooting link.
    const wrong = await failure(chat('mini', { apiKey: 'sk-tokios-wrong' }).invoke('Hi'));
    expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(wrong.lc_error_code).toBe('MODEL_AUTHENTICATION');
    expect(wrong.message).toMatch(/^401 Invalid API key: this gateway does not know it\..*\n\nTroubleshooting URL: /s);
    const unknown = await failure(chat('gpt-4o').invoke('Hi'));
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown.lc_error_code).toBe('MODEL_NOT_FOUND');
    expect(unknown.message).toMatch(/^404 The model 'gpt-4o' does not exist\. Deployments on this gateway: /);
    const offline = await failure(chat('sleeping').invoke('Hi'));
    expect(offline).toBeInstanceOf(OpenAI.InternalServerError);
    expect(offline.message).toMatch(/^503 Deployment 'sleeping' is offline/);
    const embeddings = new OpenAIEmbeddings({ model: 'mini', apiKey: rig.apiKey, configuration: { baseURL: `${rig.url}/v1` }, maxRetries: 0 });
    const lacking = await failure(embeddings.embedQuery('x'));
    expect(lacking).toBeInstanceOf(OpenAI.InternalServerError);
    // Not mistaken for an unknown model: no MODEL_NOT_FOUND guide.
    expect(lacking.lc_error_code).toBeUndefined();
    expect(lacking.message).toBe("501 Deployment 'mini': the openai upstream has no POST /v1/embeddings (it answered 404)");
  });
});

describe('what a browser app needs', () => {
  it('answers a preflight from an allowed origin, refuses others, and exposes the request id', async () => {
    const preflight = await fetch(`${rig.url}/v1/messages`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key, anthropic-version, content-type, anthropic-dangerous-direct-browser-access' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(preflight.headers.get('access-control-allow-headers')).toBe('x-api-key, anthropic-version, content-type, anthropic-dangerous-direct-browser-access');
    const other = await fetch(`${rig.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const answer = await rig.fetch('/v1/chat/completions', { model: 'llama3-local', messages: [{ role: 'user', content: 'Hi' }] }, { headers: { origin: ORIGIN } });
    expect(answer.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(answer.headers.get('access-control-expose-headers')).toContain('x-request-id');
    // llama-server sends its own Access-Control-Allow-Origin; only the gateway's policy counts.
    const fromElsewhere = await rig.fetch('/v1/chat/completions', { model: 'llama3-local', messages: [{ role: 'user', content: 'Hi' }] }, { headers: { origin: 'http://evil.example' } });
    expect(fromElsewhere.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gives every response its own x-request-id, errors included, and passes it to the connector', async () => {
    const ok = await rig.fetch('/v1/chat/completions', { model: 'gemma-tunnel', messages: [{ role: 'user', content: 'Hi' }] });
    const bad = await rig.fetch('/v1/chat/completions', { model: 'nope', messages: [] });
    const ids = [ok.headers.get('x-request-id'), bad.headers.get('x-request-id'), (await fetch(rig.url)).headers.get('x-request-id')];
    expect(ids.every((id) => /^req_[0-9a-f]{16}[0-9a-z]{6,}$/.test(id ?? ''))).toBe(true);
    expect(new Set(ids).size).toBe(3);
    expect(ollama.requestsTo('/v1/chat/completions').at(-1)!.headers['x-request-id']).toBe(ids[0]);
  });
});
