/**
 * Token counts from a response without parsing it, as both ends of a tunnel read them (the
 * connector for its health figures, the gateway for limits and usage): usage always
 * travels near the end (OpenAI `usage`, Anthropic/Responses `input_tokens`/`output_tokens`,
 * Ollama `prompt_eval_count`/`eval_count`/`eval_duration`, llama.cpp `timings`), so keeping the
 * last kilobyte is enough. Chunks are referenced, not copied, until the end.
 */

const TAIL_BYTES = 1024;

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
    const last = this.chunks[this.chunks.length - 1];
    if (!last) return { promptTokens: null, completionTokens: null, tokensPerSecond: null };
    const all = last.length >= TAIL_BYTES || this.chunks.length === 1 ? last : Buffer.concat(this.chunks, this.bytes);
    const text = all.subarray(Math.max(0, all.length - TAIL_BYTES)).toString('latin1');
    // One pass; the last value of each key wins (usage comes last).
    const seen: Record<string, number> = {};
    for (const match of text.matchAll(USAGE_FIELDS)) seen[match[1]!] = Number(match[2]);
    const prompt = seen.prompt_tokens ?? seen.input_tokens ?? seen.prompt_eval_count ?? null;
    const completion = seen.completion_tokens ?? seen.output_tokens ?? seen.eval_count ?? null;
    let tokensPerSecond = seen.predicted_per_second ?? null;
    if (tokensPerSecond === null && seen.eval_duration && seen.eval_count) tokensPerSecond = seen.eval_count / (seen.eval_duration / 1e9);
    return { promptTokens: finite(prompt), completionTokens: finite(completion), tokensPerSecond: finite(tokensPerSecond) };
  }
}

const USAGE_FIELDS = /"(prompt_tokens|input_tokens|prompt_eval_count|completion_tokens|output_tokens|eval_count|predicted_per_second|eval_duration)"\s*:\s*([\d.]+)/g;

function finite(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}
