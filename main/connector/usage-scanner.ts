/**
 * Token counts from a response without parsing it: usage always travels near the end
 * (OpenAI `usage`, Anthropic/Responses `input_tokens`/`output_tokens`, Ollama
 * `prompt_eval_count`/`eval_count`/`eval_duration`, llama.cpp `timings`), so keeping the
 * last few KB is enough. Costs one small copy per chunk, never the whole body.
 */

const TAIL_BYTES = 4096;

export interface Usage {
  promptTokens: number | null;
  completionTokens: number | null;
  /** Reported generation speed (Ollama eval_duration, llama.cpp timings), if any. */
  tokensPerSecond: number | null;
}

export class UsageScanner {
  /** The most recent chunks, just enough to cover TAIL_BYTES; referenced, not copied. */
  private chunks: Buffer[] = [];
  private bytes = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0]!.length >= TAIL_BYTES) this.bytes -= this.chunks.shift()!.length;
  }

  result(): Usage {
    const all = Buffer.concat(this.chunks, this.bytes);
    const text = all.subarray(Math.max(0, all.length - TAIL_BYTES)).toString('utf8');
    const prompt = lastNumber(text, /"(?:prompt_tokens|input_tokens|prompt_eval_count)"\s*:\s*(\d+)/g);
    const completion = lastNumber(text, /"(?:completion_tokens|output_tokens|eval_count)"\s*:\s*(\d+)/g);
    let tokensPerSecond = lastNumber(text, /"predicted_per_second"\s*:\s*([\d.]+)/g);
    const evalDuration = lastNumber(text, /"eval_duration"\s*:\s*(\d+)/g);
    const evalCount = lastNumber(text, /"eval_count"\s*:\s*(\d+)/g);
    if (tokensPerSecond === null && evalDuration && evalCount) tokensPerSecond = evalCount / (evalDuration / 1e9);
    return { promptTokens: prompt, completionTokens: completion, tokensPerSecond };
  }
}

function lastNumber(text: string, pattern: RegExp): number | null {
  let value: number | null = null;
  for (const match of text.matchAll(pattern)) value = Number(match[1]);
  return value !== null && Number.isFinite(value) ? value : null;
}
