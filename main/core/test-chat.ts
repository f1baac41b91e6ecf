import { randomUUID } from 'node:crypto';
import type { TestChatEvent } from '../../shared/api.js';
import { TokiosError } from '../../shared/errors.js';
import type { Logger } from '../logging/logger.js';
import type { ApiEventBus } from './api-events.js';
import type { GatewayAccess } from './deployment-service.js';
import { TaskGroup } from './task-group.js';

/**
 * The "Test" button: one streaming chat request through the gateway, exactly as a client
 * would send it, reported as 'test.chat' events (first token, text chunks, done or error).
 * Stopping the app cancels the chats still streaming.
 */
export class TestChats {
  private readonly tasks: TaskGroup;

  constructor(private readonly options: { gateway: GatewayAccess; events: ApiEventBus; log: Logger }) {
    this.tasks = new TaskGroup(options.log);
  }

  run({ deployment, prompt }: { deployment: string; prompt: string }): { requestId: string } {
    const gateway = this.options.gateway.require();
    const apiKey = gateway.apiKey;
    if (!apiKey) throw new TokiosError('INVALID_ARGUMENT', 'the app has no API key for this gateway; add one in Gateway settings');
    const requestId = randomUUID();
    const emit = (event: TestChatEvent): void => this.options.events.emit('test.chat', event);
    this.tasks.run(`test chat ${requestId}`, (signal) => streamChat(gateway.url, apiKey, deployment, prompt, requestId, signal, emit));
    return { requestId };
  }

  stop(): Promise<void> {
    return this.tasks.stop();
  }
}

async function streamChat(
  gatewayUrl: string,
  apiKey: string,
  deployment: string,
  prompt: string,
  requestId: string,
  stopped: AbortSignal,
  emit: (event: TestChatEvent) => void,
): Promise<void> {
  const started = performance.now();
  let ttftMs: number | null = null;
  let completionTokens: number | null = null;
  try {
    const response = await fetch(`${gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: deployment, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] }),
      signal: AbortSignal.any([stopped, AbortSignal.timeout(300_000)]),
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
    emit({ requestId, type: 'error', message: stopped.aborted ? 'Tokios is stopping' : (error as Error).message });
  }
}
