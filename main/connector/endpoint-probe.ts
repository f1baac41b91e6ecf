import { PROBED_ENDPOINTS } from '../../shared/upstream-endpoints.js';
import { probeRequest } from '../detect/upstream-probe.js';

/**
 * Which of the version-dependent endpoints (Anthropic Messages, OpenAI Responses) the
 * upstream serves, asked with an empty JSON object: a server that has the endpoint rejects
 * the request as invalid (400, 422, or 500 in older llama.cpp builds) without generating
 * anything; one that lacks it answers 404 (llama.cpp "File Not Found", Ollama "404 page not
 * found"), 405 or 501. Anything else (auth, loading, a 200 for garbage) counts as absent:
 * the gateway then translates to Chat Completions, which every kind serves.
 */

export function servesEndpoint(status: number): boolean {
  return status >= 400 && status < 600 && ![401, 403, 404, 405, 501, 503].includes(status);
}

export async function probeEndpoints(upstream: string, timeoutMs = 1500): Promise<string[]> {
  const answers = await Promise.all(
    PROBED_ENDPOINTS.map((path) =>
      probeRequest(upstream, 'POST', path, timeoutMs, '{}').then(
        (answer) => (servesEndpoint(answer.status) ? path : null),
        () => null,
      ),
    ),
  );
  return answers.filter((path): path is (typeof PROBED_ENDPOINTS)[number] => path !== null);
}
