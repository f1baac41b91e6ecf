import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, type HelloPayload, type RequestHead, type UpstreamKind } from '../../../shared/tunnel-protocol.js';
import { upstreamEndpoints } from '../../../shared/upstream-endpoints.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { addLogSink, Logger, type LogRecord } from '../../logging/logger.js';
import { CorsPolicy, parseCorsOrigins } from './cors-policy.js';
import { planExchange } from './exchange-plan.js';

/** What the gateway does with a request, by the upstream that serves it. */

const hello = (kind: UpstreamKind, endpoints?: string[]): HelloPayload => ({
  version: '0.1.0', upstreamKind: kind, models: [], model: 'm', limits: DEFAULT_LIMITS, ...(endpoints ? { endpoints } : {}),
});
const head = (path: string): RequestHead => ({ method: 'POST', path, headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, deployment: 'dep' });
const body = Buffer.from(JSON.stringify({ model: 'dep', max_tokens: 5, messages: [{ role: 'user', content: 'Hi' }] }));
const plan = (path: string, h: HelloPayload) => planExchange(head(path), () => body, { hello: h, connectedAt: 0, requestId: 'req_1' });

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
    const responses = planExchange(head('/v1/responses'), () => Buffer.from('{"model":"dep","input":"Hi"}'), { hello: hello('ollama'), connectedAt: 0, requestId: null });
    expect(responses.kind).toBe('translate');
  });

  it('refuses with 501 naming the deployment, the kind and the path', () => {
    expect(plan('/api/chat', hello('llamacpp', upstreamEndpoints('llamacpp', [])))).toMatchObject({
      kind: 'refuse', status: 501, code: 'endpoint_not_implemented', headers: { 'x-should-retry': 'false' },
      message: expect.stringMatching(/^Deployment 'dep' runs on a llama\.cpp \(llama-server\) upstream, which does not implement POST \/api\/chat\./),
    });
    expect(plan('/v1/messages/count_tokens', hello('ollama', upstreamEndpoints('ollama', ['/v1/messages'])))).toMatchObject({ kind: 'refuse', status: 501 });
  });

  it('answers /api/show itself for upstreams that are not Ollama', () => {
    expect(plan('/api/show', hello('openai', upstreamEndpoints('openai', [])))).toMatchObject({ kind: 'answer', body: { capabilities: ['completion'], model_info: { 'tokios.upstream_kind': 'openai', 'tokios.upstream_model': 'm' } } });
  });

  it('says what is wrong with a request it cannot translate (400)', () => {
    const bad = planExchange(head('/v1/messages'), () => Buffer.from('{"messages": "hi"}'), { hello: hello('llamacpp', upstreamEndpoints('llamacpp', [])), connectedAt: 0, requestId: null });
    expect(bad).toMatchObject({ kind: 'refuse', status: 400, message: expect.stringContaining('`messages` must be a non-empty array') });
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
