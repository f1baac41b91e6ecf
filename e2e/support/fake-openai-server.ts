import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeLlamaServer, type FakeLlamaOptions } from './fake-llama-server.js';
import { sendJson, type RecordedRequest } from './fake-upstream-base.js';

/**
 * A minimal OpenAI-compatible server, like the Python ones (mlx_lm.server, small FastAPI
 * wrappers): `/v1/models` and chat completions, no embeddings, and
 * FastAPI's `{"detail":"Not Found"}` for everything else — so the connector sees it as an
 * "openai" upstream, and its 404 for embeddings is a missing endpoint, not a missing model.
 * The chat answers are llama-server's (the fake it extends).
 */

const ANSWERED = new Set(['GET /v1/models', 'POST /v1/chat/completions']);

export class FakeOpenAIServer extends FakeLlamaServer {
  constructor(options: FakeLlamaOptions = {}) {
    super({ modelPath: 'mlx-community/Qwen3-4B-4bit', label: 'mini', ...options });
  }

  protected override route(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): void {
    if (!ANSWERED.has(`${req.method} ${record.path.split('?')[0]}`)) return sendJson(res, 404, { detail: 'Not Found' });
    super.route(req, res, record);
  }
}

export async function startFakeOpenAIServer(options: FakeLlamaOptions = {}): Promise<FakeOpenAIServer> {
  return new FakeOpenAIServer(options).listen();
}
