import { describe, expect, it } from 'vitest';
import { checkRequestTarget } from './path-allowlist.js';

describe('connector allowlist', () => {
  it('forwards the inference endpoints, with plain query strings', () => {
    for (const [method, path] of [
      ['POST', '/v1/chat/completions'], ['POST', '/v1/completions'], ['POST', '/v1/embeddings'], ['POST', '/v1/responses'],
      ['POST', '/v1/messages?beta=true'], ['POST', '/api/chat'], ['POST', '/api/generate'], ['POST', '/api/embed'],
      ['GET', '/v1/models'], ['GET', '/api/tags'],
    ]) {
      expect(checkRequestTarget(method!, path!).ok, `${method} ${path}`).toBe(true);
    }
  });

  it('refuses model management and every disguise of it', () => {
    const attempts = [
      ['POST', '/api/pull'], ['POST', '/api/delete'], ['DELETE', '/api/delete'], ['POST', '/api/create'], ['POST', '/api/copy'], ['POST', '/api/push'],
      ['POST', '/v1/../api/pull'], ['POST', '/v1/%2e%2e/api/pull'], ['POST', '/v1/%252e%252e/api/pull'], ['POST', '/API/PULL'],
      ['POST', '/v1\\..\\api\\pull'], ['POST', '//api/pull'], ['POST', 'http://127.0.0.1:11434/api/pull'], ['POST', '/v1/chat/completions/'],
      ['POST', '/v1/chat/completions/../../api/pull'], ['POST', '/v1/chat/completions%2F..%2F..%2Fapi%2Fpull'], ['GET', '/v1/chat/completions'],
      ['POST', '/v1/chat/completions?x=1#frag'], ['POST', '/v1/chat/completions?a=b\r\nHost: evil'], ['POST', '/v1/chat/completions?../../api/pull'],
    ];
    for (const [method, path] of attempts) expect(checkRequestTarget(method!, path!).ok, `${method} ${path}`).toBe(false);
  });
});
