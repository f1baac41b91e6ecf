/**
 * Replaces the value of every `"model": "…"` key in a response with the deployment name, as
 * the bytes stream past: clients (and the SDKs that report "the model used") see the name
 * they asked for, not the upstream's internal one (`gemma3:4b`, a file path).
 *
 * Nothing is parsed. Each chunk is searched for the bytes `"model"` (a native search); a
 * hit followed by `:` and a string is a key and its value is swapped. In valid JSON those
 * bytes cannot occur inside a string (quotes there are escaped), so this touches keys only,
 * at any depth: Chat Completions chunks, Ollama's NDJSON lines, Anthropic's `message_start`
 * and Responses' `response.*` objects alike. Every format puts one `model` per line (an SSE
 * event, an NDJSON object), so after a value the search resumes at the next line. A value
 * that already is the name (an upstream model named like its deployment) stays in place, so
 * such a stream passes on uncopied: rebuilding every event of a saturated stream doubled the
 * connector's CPU per event. A key cut by a chunk boundary is held back until the next
 * chunk completes it (at most {@link MAX_HELD} bytes).
 *
 * It runs in the connector, on the machine that generates the tokens, rather than in a
 * gateway that may serve many accounts and pay for every event's CPU. Lengths change, so the
 * forwarder drops the upstream's `content-length` and the gateway frames the body itself.
 */

const KEY = Buffer.from('"model"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const NEWLINE = 0x0a;
/** Bytes of an incomplete key and value held for the next chunk; longer ones pass untouched. */
const MAX_HELD = 1024;

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export class ModelStamp {
  private readonly replacement: Buffer;
  private held: Buffer | null = null;
  /** Whether the bytes already sent ended inside an escape (an odd run of backslashes). */
  private escapedAtEnd = false;

  constructor(deployment: string) {
    this.replacement = Buffer.from(JSON.stringify(deployment));
  }

  /** The bytes to pass on for `chunk` (the chunk itself when nothing changed). */
  push(chunk: Buffer): Buffer {
    let data = chunk;
    if (this.held) {
      data = Buffer.concat([this.held, chunk]);
      this.held = null;
    }
    const spans: Array<[number, number]> = [];
    let from = 0;
    while (data.length - from >= KEY.length) {
      const hit = data.indexOf(KEY, from);
      if (hit === -1) break;
      from = hit + KEY.length;
      if (this.escapedBefore(data, hit)) continue;
      const value = valueSpan(data, from);
      if (value === 'incomplete') {
        if (data.length - hit <= MAX_HELD) return this.finish(data, spans, hit);
        break;
      }
      if (!value) continue;
      // A value that already is the name stays as it is: no copy of the chunk for it.
      if (!this.isReplacement(data, value)) spans.push(value);
      // One model per line: the next one, if any, is on the next line (the searches skip the rest of this one).
      const newline = data.indexOf(NEWLINE, value[1]);
      if (newline === -1) break;
      from = newline + 1;
    }
    const done = spans.length ? spans[spans.length - 1]![1] : 0;
    return this.finish(data, spans, Math.max(done, data.length - partialKeyAtEnd(data)));
  }

  /** Whatever is still held back, at the end of the response. */
  flush(): Buffer {
    const rest = this.held ?? Buffer.alloc(0);
    this.held = null;
    return rest;
  }

  /** Emits data[0, keepFrom) with the value `spans` replaced, holding data[keepFrom, end) back. */
  private finish(data: Buffer, spans: Array<[number, number]>, keepFrom: number): Buffer {
    if (keepFrom < data.length) this.held = data.subarray(keepFrom);
    let out: Buffer;
    if (spans.length === 0) {
      out = keepFrom === data.length ? data : data.subarray(0, keepFrom);
    } else {
      // One allocation and plain copies: this runs for every event of every stream.
      const name = this.replacement;
      let size = keepFrom;
      for (const [start, end] of spans) size += name.length - (end - start);
      out = Buffer.allocUnsafe(size);
      let at = 0;
      let copied = 0;
      for (const [start, end] of spans) {
        at += data.copy(out, at, copied, start);
        at += name.copy(out, at);
        copied = end;
      }
      data.copy(out, at, copied, keepFrom);
    }
    if (out.length > 0) this.escapedAtEnd = endsEscaped(out, this.escapedAtEnd);
    return out;
  }

  private isReplacement(data: Buffer, [start, end]: [number, number]): boolean {
    const name = this.replacement;
    return end - start === name.length && data.compare(name, 0, name.length, start, end) === 0;
  }

  private escapedBefore(data: Buffer, at: number): boolean {
    let run = 0;
    let i = at - 1;
    while (i >= 0 && data[i] === BACKSLASH) {
      run++;
      i--;
    }
    // The run may continue into bytes already passed on.
    if (i < 0 && this.escapedAtEnd) run++;
    return run % 2 === 1;
  }
}

/** The span of the string value after a key ending at `i`; null when it is not a key with a string value. */
function valueSpan(data: Buffer, i: number): [number, number] | null | 'incomplete' {
  while (isSpace(data[i])) i++;
  if (i >= data.length) return 'incomplete';
  if (data[i] !== COLON) return null;
  i++;
  while (isSpace(data[i])) i++;
  if (i >= data.length) return 'incomplete';
  if (data[i] !== QUOTE) return null;
  const start = i;
  let j = i + 1;
  for (;;) {
    const quote = data.indexOf(QUOTE, j);
    if (quote === -1) return 'incomplete';
    let backslashes = 0;
    for (let k = quote - 1; k > start && data[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return [start, quote + 1];
    j = quote + 1;
  }
}

/** How many trailing bytes could be the start of a `"model"` key cut by the chunk boundary. */
function partialKeyAtEnd(data: Buffer): number {
  const max = Math.min(KEY.length - 1, data.length);
  for (let n = max; n > 0; n--) {
    if (data[data.length - n] === QUOTE && data.compare(KEY, 0, n, data.length - n) === 0) return n;
  }
  return 0;
}

function endsEscaped(data: Buffer, before: boolean): boolean {
  let run = 0;
  let i = data.length - 1;
  while (i >= 0 && data[i] === BACKSLASH) {
    run++;
    i--;
  }
  if (i < 0 && before) run++;
  return run % 2 === 1;
}
