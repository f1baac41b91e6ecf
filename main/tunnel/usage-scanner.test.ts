import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageScanner } from './usage-scanner.js';

function scan(text: string, chunk = 37): ReturnType<UsageScanner['result']> {
  const scanner = new UsageScanner();
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunk) scanner.push(bytes.subarray(i, i + chunk));
  return scanner.result();
}

describe('usage scanner', () => {
  it("reads llama-server's final chunk (captured fixture)", () => {
    const capture = readFileSync(new URL('../../e2e/fixtures/llama-server-b4750/chat-stream.http', import.meta.url), 'utf8');
    expect(scan(capture)).toEqual({ promptTokens: 29, completionTokens: 6, tokensPerSecond: 4101.161995898838 });
  });

  it("derives tokens/s from Ollama's eval_count and eval_duration", () => {
    const last = '{"model":"gemma3:4b","done":true,"prompt_eval_count":12,"eval_count":100,"eval_duration":2000000000}\n';
    expect(scan('{"message":{"content":"x"},"done":false}\n'.repeat(300) + last)).toEqual({ promptTokens: 12, completionTokens: 100, tokensPerSecond: 50 });
  });

  it('reads Anthropic-style input/output tokens and reports nothing when there is no usage', () => {
    expect(scan('event: message_delta\ndata: {"usage":{"input_tokens":5,"output_tokens":7}}\n\n')).toMatchObject({ promptTokens: 5, completionTokens: 7 });
    expect(scan('data: {"choices":[]}\n\n')).toEqual({ promptTokens: null, completionTokens: null, tokensPerSecond: null });
  });
});
