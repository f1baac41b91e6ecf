import { randomUUID } from 'node:crypto';
import type { TestChatEvent } from '../../shared/api.js';

/**
 * The "Test" button: one streaming chat request through the gateway, exactly as a client
 * would send it, reported as events (first token, text chunks, done or error).
 */
export async function runTestChat(
  gatewayUrl: string,
  apiKey: string,
  deployment: string,
  prompt: string,
  emit: (event: TestChatEvent) => void,
): Promise<{ requestId: string }> {
  const requestId = randomUUID();
  const started = performance.now();
  void (async () => {
    let ttftMs: number | null = null;
    let completionTokens: number | null = null;
    try {
      const response = await fetch(`${gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: deployment, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] }),
        signal: AbortSignal.timeout(300_000),
      });
      if (!response.ok || !response.body) {
        const text = await response.text();
        let message = `HTTP ${response.status}`;
        try {
          message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
        } catch {
          // not JSON: keep the status
        }
        emit({ requestId, type: 'error', message });
        return;
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let boundary: number;
        while ((boundary = buffer.indexOf('\n\n')) !== -1) {
          const event = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data:')) continue;
            const data = line.slice(5).trim();
            if (data === '[DONE]') continue;
            const parsed = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens?: number } };
            const text = parsed.choices?.[0]?.delta?.content;
            if (parsed.usage?.completion_tokens !== undefined) completionTokens = parsed.usage.completion_tokens;
            if (!text) continue;
            if (ttftMs === null) {
              ttftMs = performance.now() - started;
              emit({ requestId, type: 'first-token', ttftMs });
            }
            emit({ requestId, type: 'chunk', text });
          }
        }
      }
      emit({ requestId, type: 'done', durationMs: performance.now() - started, ttftMs, completionTokens });
    } catch (error) {
      emit({ requestId, type: 'error', message: (error as Error).message });
    }
  })();
  return { requestId };
}
