import { describe, expect, it, vi } from 'vitest';
import { ChatStreamReader, type ChatStreamSink } from '../main/gateway/dialects/chat-stream-reader.js';
import { translateMessages } from '../main/gateway/dialects/messages-translator.js';
import { translateResponses } from '../main/gateway/dialects/responses-translator.js';
import { TranslationError } from '../main/gateway/dialects/translation-types.js';
import { CorsPolicy } from '../main/gateway/dialects/cors-policy.js';
import { addLogSink, Logger, type LogRecord } from '../main/logging/logger.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Review repros for the gateway's dialect translation facing hostile peers. */

const sink: ChatStreamSink = { text() {}, toolCall() {}, finish() {}, usage() {}, error() {} };

describe('ChatStreamReader against a connector that never ends a line', () => {
  it('copies each byte of a long line a bounded number of times', () => {
    // A rogue connector (or upstream) sends one SSE line of 1 MB in 512-byte data frames.
    const reader = new ChatStreamReader(sink);
    const original = Buffer.concat.bind(Buffer);
    let copied = 0;
    const concat = vi.spyOn(Buffer, 'concat').mockImplementation((list: readonly Uint8Array[], total?: number) => {
      const out = original(list, total);
      copied += out.length;
      return out;
    });
    const lineBytes = 1024 * 1024;
    reader.push(Buffer.from('data: {"choices":[{"delta":{"content":"'));
    const piece = Buffer.alloc(512, 0x61);
    for (let sent = 0; sent < lineBytes; sent += piece.length) reader.push(piece);
    concat.mockRestore();
    // Expected: linear (each byte copied a few times at most). Today: ~1 GB copied for a
    // 1 MB line (quadratic); a 16 MB line takes the gateway minutes of CPU.
    expect(copied).toBeLessThan(4 * lineBytes);
  });
});

describe('translators given many content blocks (well under the 32 MB body limit)', () => {
  const blocks = Array.from({ length: 200_000 }, (_, i) => ({ type: 'tool_result', tool_use_id: `t${i}`, content: '' }));
  it('Messages: a user turn of 200,000 tool results is translated or refused with a TranslationError', () => {
    let error: unknown = null;
    try {
      translateMessages({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: blocks }] }, 'm');
    } catch (e) {
      error = e;
    }
    // Today: RangeError (Maximum call stack size exceeded) from push(...spread) → 500, or an
    // unhandled rejection when the request waited for a reconnecting tunnel.
    expect(error === null || error instanceof TranslationError).toBe(true);
  });
  it('Responses: an input of 200,000 items is translated or refused with a TranslationError', () => {
    const input = Array.from({ length: 200_000 }, () => ({ role: 'user', content: 'x' }));
    let error: unknown = null;
    try {
      translateResponses({ model: 'm', input }, 'm');
    } catch (e) {
      error = e;
    }
    expect(error === null || error instanceof TranslationError).toBe(true);
  });
});

describe('CORS refusal log line', () => {
  it('escapes C1 control characters an unauthenticated Origin header carries', () => {
    const records: LogRecord[] = [];
    const detach = addLogSink((r) => records.push(r));
    const policy = new CorsPolicy([], new Logger('gateway'));
    // What Node hands over for the bytes 0x9b ("CSI" on terminals that honour C1) in a header value.
    const req = { method: 'OPTIONS', headers: { origin: 'http://a\u009b2J\u009b31mFORGED', 'access-control-request-method': 'POST' } } as unknown as IncomingMessage;
    const res = { writeHead() {}, end() {}, setHeader() {} } as unknown as ServerResponse;
    policy.handle(req, res);
    detach();
    const line = records.map((r) => r.message).join('\n');
    expect(line).toContain('refused a cross-origin request');
    expect(line).not.toMatch(/[\u0080-\u009f]/);
  });
});
