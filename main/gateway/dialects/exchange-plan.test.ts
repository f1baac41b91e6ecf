import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type HelloPayload, type RequestHead, type UpstreamKind } from '../../../shared/tunnel-protocol.js';
import { upstreamEndpoints } from '../../../shared/upstream-endpoints.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ByteBudget, HeldBody } from '../../http/held-body.js';
import { JsonModelScanner } from '../../http/json-model-scanner.js';
import { addLogSink, Logger, type LogRecord } from '../../logging/logger.js';
import { CorsPolicy, parseCorsOrigins } from './cors-policy.js';
import { MAX_TRANSLATED_BODY_BYTES, planExchange, type PlanBody, type PlanContext } from './exchange-plan.js';

/** What the gateway does with a request, by the upstream that serves it. */

const hello = (kind: UpstreamKind, endpoints?: string[]): HelloPayload => ({
  version: '0.1.0', upstreamKind: kind, models: [], model: 'm', limits: DEFAULT_LIMITS, ...(endpoints ? { endpoints } : {}),
});
const head = (path: string): RequestHead => ({ method: 'POST', path, headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, deployment: 'dep' });
/** A routed body as the data plane holds it: against a budget, with the values its scan counted. */
function held(text: string, budget = new ByteBudget(1 << 30)): PlanBody {
  const body = new HeldBody(budget);
  body.add(Buffer.from(text));
  const scanner = new JsonModelScanner();
  scanner.push(Buffer.from(text));
  const scan = scanner.finish();
  return { held: body, values: scan.ok ? scan.valueCount : 0 };
}
const context = (h: HelloPayload, budget = new ByteBudget(1 << 30)): PlanContext => ({ hello: h, connectedAt: 0, requestId: 'req_1', budget });
const body = JSON.stringify({ model: 'dep', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] });
const plan = (path: string, h: HelloPayload) => planExchange(head(path), held(body), context(h));

describe('exchange plan', () => {
  it('passes through what the upstream serves, and everything for an upstream of unknown kind', () => {
    expect(plan('/v1/chat/completions', hello('llamacpp', upstreamEndpoints('llamacpp', [])))).toEqual({ kind: 'pass' });
    expect(plan('/v1/messages?beta=true', hello('llamacpp', upstreamEndpoints('llamacpp', ['/v1/messages'])))).toEqual({ kind: 'pass' });
    expect(plan('/api/chat', hello('ollama', upstreamEndpoints('ollama', [])))).toEqual({ kind: 'pass' });
    expect(plan('/api/chat', hello('unknown'))).toEqual({ kind: 'pass' });
  });

  it('translates Messages and Responses to Chat Completions where the upstream lacks them', () => {
    const translated = plan('/v1/messages?beta=true', hello('llamacpp', upstreamEndpoints('llamacpp', ['/v1/responses'])));
    expect(translated.kind).toBe('translate');
    if (translated.kind !== 'translate') return;
    expect(translated.head).toEqual({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, deployment: 'dep' });
    expect(JSON.parse(translated.body.toString())).toEqual({ model: 'dep', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 5 });
    // A connector from before endpoint reporting: the kind's defaults, which lack both.
    const responses = planExchange(head('/v1/responses'), held('{"model":"dep","input":"Hi"}'), context(hello('ollama')));
    expect(responses.kind).toBe('translate');
  });

  it('refuses with 501 naming the deployment, the kind and the path', () => {
    expect(plan('/api/chat', hello('llamacpp', upstreamEndpoints('llamacpp', [])))).toMatchObject({
      kind: 'refuse', status: 501, code: 'endpoint_not_implemented', headers: { 'x-should-retry': 'false' },
      message: expect.stringMatching(/^Deployment 'dep' runs on a llama\.cpp \(llama-server\) upstream, which does not implement POST \/api\/chat\./),
    });
    expect(plan('/v1/messages/count_tokens', hello('ollama', upstreamEndpoints('ollama', ['/v1/messages'])))).toMatchObject({
      kind: 'refuse', status: 501, message: expect.stringMatching(/^Deployment 'dep' runs on an Ollama upstream, which/),
    });
  });

  it('answers /api/show itself for upstreams that are not Ollama', () => {
    expect(plan('/api/show', hello('openai', upstreamEndpoints('openai', [])))).toMatchObject({ kind: 'answer', body: { capabilities: ['completion'], model_info: { 'tokios.upstream_kind': 'openai', 'tokios.upstream_model': 'm' } } });
  });

  it('says what is wrong with a request it cannot translate (400)', () => {
    const bad = planExchange(head('/v1/messages'), held('{"messages": "hi"}'), context(hello('llamacpp', upstreamEndpoints('llamacpp', []))));
    expect(bad).toMatchObject({ kind: 'refuse', status: 400, message: expect.stringContaining('`messages` must be a non-empty array') });
  });

  it('refuses with 413, before parsing, a request with more JSON values or bytes than a translation may build', () => {
    const llama = hello('llamacpp', upstreamEndpoints('llamacpp', []));
    const blocks = `{"model":"dep","max_tokens":5,"messages":[{"role":"user","content":[${Array.from({ length: 150_000 }, (_, i) => `{"type":"tool_result","tool_use_id":"t${i}","content":""}`).join(',')}]}]}`;
    const many = planExchange(head('/v1/messages'), held(blocks), context(llama));
    expect(many).toMatchObject({ kind: 'refuse', status: 413, code: 'request_too_large', message: expect.stringContaining('at most 8388608 bytes and 100000 JSON values; this one has') });
    expect(many.kind === 'refuse' && many.message).toMatch(/^Deployment 'dep' runs on a llama\.cpp \(llama-server\) upstream, so this Messages request is carried over Chat Completions/);
    const large = planExchange(head('/v1/responses'), held(`{"model":"dep","input":"${'x'.repeat(MAX_TRANSLATED_BODY_BYTES)}"}`), context(llama));
    expect(large).toMatchObject({ kind: 'refuse', status: 413, message: expect.stringContaining(`this one has ${MAX_TRANSLATED_BODY_BYTES + 26} bytes and 3 values`) });
  });

  it('holds what the translation builds against the gateway budget, or says the gateway is busy', () => {
    const llama = hello('llamacpp', upstreamEndpoints('llamacpp', []));
    const budget = new ByteBudget(64 * 1024);
    const request = held(body, budget);
    const before = budget.held;
    expect(planExchange(head('/v1/messages'), request, context(llama, budget)).kind).toBe('translate');
    const extra = budget.held - before;
    expect(extra).toBeGreaterThanOrEqual(4 * body.length);
    // A retry over another tunnel builds it again, but holds it once.
    planExchange(head('/v1/messages'), request, context(llama, budget));
    expect(budget.held - before).toBe(extra);
    request.held.release();
    expect(budget.held).toBe(0);

    const tight = new ByteBudget(body.length * 2);
    expect(planExchange(head('/v1/messages'), held(body, tight), context(llama, tight))).toEqual({ kind: 'busy' });
  });
});

describe('CORS origins', () => {
  it('accepts origins and *, and names the flag and the fix for anything else', () => {
    expect(parseCorsOrigins(['http://localhost:5173,https://app.example.com', 'https://app.example.com/'], '--cors-origin')).toEqual(['http://localhost:5173', 'https://app.example.com']);
    expect(parseCorsOrigins(['*'], 'x')).toEqual(['*']);
    expect(() => parseCorsOrigins(['https://app.example.com/chat'], '--cors-origin')).toThrow("--cors-origin: 'https://app.example.com/chat' is not an origin (scheme, host and port only, no path); did you mean https://app.example.com?");
    expect(() => parseCorsOrigins(['localhost:5173'], '--cors-origin')).toThrow(/not an origin/);
    expect(() => parseCorsOrigins('http://a.example', 'settings.json: corsOrigins')).toThrow('settings.json: corsOrigins must be a list of origins');
  });

  it('is off without origins', () => {
    expect(new CorsPolicy([], new Logger('test')).enabled).toBe(false);
    expect(new CorsPolicy(['*'], new Logger('test')).enabled).toBe(true);
  });

  it('logs a refused origin escaped: an unauthenticated peer cannot forge or recolour the line', () => {
    const records: LogRecord[] = [];
    const detach = addLogSink((record) => records.push(record));
    try {
      // What Node hands over for the byte 0x9b (CSI on terminals that honour C1) in a header value.
      const origin = 'http://a\u009b2J\u009b31mFORGED "x"';
      const req = { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } } as unknown as IncomingMessage;
      let status = 0;
      const res = { setHeader() {}, writeHead: (code: number) => (status = code), end() {} } as unknown as ServerResponse;
      expect(new CorsPolicy([], new Logger('test')).handle(req, res)).toBe(true);
      expect(status).toBe(403);
      const line = records.map((r) => r.message).join('\n');
      expect(line).toContain('refused a cross-origin request from "http://a\\u009b2J\\u009b31mFORGED \\"x\\""');
      expect(line).toContain('allow it with --cors-origin http://a\\u009b2J\\u009b31mFORGED \\"x\\"');
      expect(line).not.toMatch(/[\u0080-\u009f]/);
    } finally {
      detach();
    }
  });
});
