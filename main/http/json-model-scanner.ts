/**
 * Finds the top-level `"model"` members of a JSON request body in one pass over its bytes,
 * fed chunk by chunk as they arrive, without building the document: memory is a fixed
 * few hundred bytes plus one byte per nesting level (bounded by `maxDepth`), time is linear
 * in the body, and no step recurses. The gateway routes by what it finds; the connector
 * splices its rewrite at the offsets it reports (./model-splice.ts).
 *
 * It checks the grammar of the structure (objects, arrays, commas, colons, numbers,
 * literals) exactly, so a member boundary it reports is where any JSON parser sees one.
 * Inside strings it only finds the closing quote (escapes counted exactly, contents not
 * validated), which keeps the bulk of a body — message text — at memchr speed; a body with
 * a bad escape or a raw control character in a string is left to the upstream to refuse.
 *
 * Top-level keys are compared after JSON unescaping; one that folds to `model` in any case
 * (`Model`, `MODEL`, `"\u004dodel"`) is reported, since servers with case-insensitive JSON
 * decoding (Go's, hence Ollama's) treat it as the model.
 */

export interface ModelMember {
  /** Offset of the key's opening quote. */
  keyStart: number;
  /** Offset just past the member's value. */
  valueEnd: number;
  /** Offset just past the previous member's value, or -1 when this member comes first. */
  prevEnd: number;
  /** The key is exactly `model` once unescaped (not just the same letters in another case). */
  exact: boolean;
  /** Offset of the value's opening quote when the value is a string, else -1. */
  stringStart: number;
}

export type JsonScan =
  | {
      ok: true;
      /** The top-level value is an object (the only kind a `model` can be found in). */
      isObject: boolean;
      /** Offset of the top-level `{` (when `isObject`). */
      objectStart: number;
      /** How many members the top-level object has. */
      memberCount: number;
      /**
       * How many values the body holds at every depth (objects, arrays, strings, numbers,
       * literals): what parsing it into objects would build, so a caller that must parse
       * it (a translation) can refuse first what would cost too much memory.
       */
      valueCount: number;
      /** Members whose key folds to `model`, in body order. */
      models: ModelMember[];
      /**
       * What a streaming request asked for (the gateway adds a request for usage when it did
       * not): a top-level `"stream": true`, a top-level `stream_options`, and whether any
       * top-level key was written with escapes (then nothing is added: it might be either).
       */
      stream: { on: boolean; options: boolean; escapedKeys: boolean };
    }
  | { ok: false; problem: string };

export interface JsonScanLimits {
  /** Deepest nesting accepted (objects and arrays). */
  maxDepth: number;
  /** Most top-level keys spelling `model` accepted in one body. */
  maxModelKeys: number;
}

/** Nesting no real request comes near; deeper bodies are refused rather than forwarded. */
export const DEFAULT_JSON_LIMITS: JsonScanLimits = { maxDepth: 512, maxModelKeys: 16 };

const enum State {
  /** A value must come next (the top level, after a colon or a comma in an array). */
  Value,
  /** Just after `[`: a value or `]`. */
  ValueOrClose,
  /** A value ended: `,`, the container's close, or (at the top) only whitespace. */
  AfterValue,
  /** Just after `{`: a key or `}`. */
  KeyOrClose,
  /** After a comma in an object: a key. */
  Key,
  Colon,
  String,
  Number,
  Literal,
  Done,
}

const enum Num {
  Minus,
  Zero,
  Int,
  Dot,
  Frac,
  Exp,
  ExpSign,
  ExpDigits,
}

const OBJECT = 1;
const ARRAY = 2;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** `"\u006d\u006f\u0064\u0065\u006c"` is the longest spelling of `model` a key can have. */
const MAX_MODEL_KEY_BYTES = 30;
const LITERALS = ['true', 'false', 'null'].map((word) => Buffer.from(word));
const MODEL = Buffer.from('model');
const STREAM = Buffer.from('stream');
const STREAM_OPTIONS = Buffer.from('stream_options');

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function describe(c: number): string {
  return c >= 0x21 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

export class JsonModelScanner {
  /** Why the body is not acceptable JSON, once known (later input is ignored). */
  problem: string | null = null;
  private readonly limits: JsonScanLimits;
  private state = State.Value;
  /** Open containers, innermost last; grows as deep as the body goes, up to the limit. */
  private stack = new Uint8Array(32);
  private depth = 0;
  /** Offset of the current chunk's first byte in the whole body. */
  private base = 0;

  private stringIsKey = false;
  private escaped = false;
  private num = Num.Int;
  private literal: Buffer = LITERALS[0]!;
  private literalIndex = 0;

  private isObject = false;
  private objectStart = -1;
  private memberCount = 0;
  private valueCount = 0;
  private readonly models: ModelMember[] = [];
  // The top-level member being read.
  private keyStart = -1;
  /** A top-level key that spans chunks, copied (only then) to be judged whole. */
  private keyBytes: Buffer | null = null;
  private keyLength = 0;
  private keyIs: 'other' | 'fold' | 'exact' = 'other';
  /** The current top-level key is exactly `stream` or `stream_options`. */
  private keyNames: 'stream' | 'stream_options' | null = null;
  private readonly stream = { on: false, options: false, escapedKeys: false };
  private valueStringStart = -1;
  private prevEnd = -1;

  constructor(limits: JsonScanLimits = DEFAULT_JSON_LIMITS) {
    this.limits = limits;
  }

  /** Scans the next piece of the body. Check {@link problem} afterwards to stop early. */
  push(chunk: Buffer): void {
    if (this.problem !== null) return;
    const n = chunk.length;
    let i = 0;
    while (i < n && this.problem === null) {
      switch (this.state) {
        case State.String:
          i = this.scanString(chunk, i);
          break;
        case State.Number:
          i = this.scanNumber(chunk, i);
          break;
        case State.Literal: {
          const c = chunk[i]!;
          if (c !== this.literal[this.literalIndex]) return this.fail(`unexpected ${describe(c)} at byte ${this.base + i}`);
          i++;
          if (++this.literalIndex === this.literal.length) this.valueDone(this.base + i);
          break;
        }
        default: {
          const c = chunk[i]!;
          if (isSpace(c)) {
            i++;
            break;
          }
          this.structural(c, this.base + i);
          i++;
        }
      }
    }
    this.base += n;
  }

  /** The outcome once the whole body has been pushed. */
  finish(): JsonScan {
    if (this.problem === null) {
      if (this.state === State.Number && this.depth === 0 && this.numberMayEnd()) this.state = State.Done;
      if (this.state !== State.Done) this.fail(this.base === 0 ? 'the body is empty' : `the body ends before its JSON does (after ${this.base} bytes)`);
    }
    if (this.problem !== null) return { ok: false, problem: this.problem };
    return { ok: true, isObject: this.isObject, objectStart: this.objectStart, memberCount: this.memberCount, valueCount: this.valueCount, models: this.models, stream: this.stream };
  }

  private fail(problem: string): void {
    this.problem ??= problem;
  }

  /** One byte outside strings, numbers and literals (whitespace already skipped). */
  private structural(c: number, at: number): void {
    switch (this.state) {
      case State.Value:
      case State.ValueOrClose:
        if (c === 0x5d && this.state === State.ValueOrClose) return this.close(ARRAY, at);
        return this.startValue(c, at);
      case State.AfterValue:
        if (c === 0x2c && this.depth > 0) {
          this.state = this.stack[this.depth - 1] === OBJECT ? State.Key : State.Value;
          return;
        }
        if (c === 0x7d) return this.close(OBJECT, at);
        if (c === 0x5d) return this.close(ARRAY, at);
        return this.fail(`unexpected ${describe(c)} at byte ${at}`);
      case State.KeyOrClose:
        if (c === 0x7d) return this.close(OBJECT, at);
        return this.startKey(c, at);
      case State.Key:
        return this.startKey(c, at);
      case State.Colon:
        if (c === 0x3a) {
          this.state = State.Value;
          return;
        }
        return this.fail(`expected ':' at byte ${at}, found ${describe(c)}`);
      case State.Done:
        return this.fail(`unexpected ${describe(c)} after the JSON value, at byte ${at}`);
      default:
        return this.fail(`unexpected ${describe(c)} at byte ${at}`);
    }
  }

  private startValue(c: number, at: number): void {
    if (this.depth === 1 && this.stack[0] === OBJECT) {
      this.valueStringStart = c === QUOTE ? at : -1;
      // A `t` can only begin `true` (anything else fails the literal check).
      if (this.keyNames === 'stream') this.stream.on = c === 0x74;
      else if (this.keyNames === 'stream_options') this.stream.options = true;
    }
    if (c === 0x7b || c === 0x5b) {
      if (this.depth === 0 && c === 0x7b) {
        this.isObject = true;
        this.objectStart = at;
      }
      if (this.depth === this.limits.maxDepth) return this.fail(`the JSON is nested deeper than ${this.limits.maxDepth} levels`);
      if (this.depth === this.stack.length) {
        const grown = new Uint8Array(Math.min(this.stack.length * 4, this.limits.maxDepth));
        grown.set(this.stack);
        this.stack = grown;
      }
      this.stack[this.depth++] = c === 0x7b ? OBJECT : ARRAY;
      this.state = c === 0x7b ? State.KeyOrClose : State.ValueOrClose;
      return;
    }
    if (c === QUOTE) {
      this.stringIsKey = false;
      this.escaped = false;
      this.state = State.String;
      return;
    }
    if (c === 0x2d || isDigit(c)) {
      this.num = c === 0x2d ? Num.Minus : c === 0x30 ? Num.Zero : Num.Int;
      this.state = State.Number;
      return;
    }
    const literal = c === 0x74 ? LITERALS[0] : c === 0x66 ? LITERALS[1] : c === 0x6e ? LITERALS[2] : undefined;
    if (literal) {
      this.literal = literal;
      this.literalIndex = 1;
      this.state = State.Literal;
      return;
    }
    this.fail(`unexpected ${describe(c)} at byte ${at}`);
  }

  private startKey(c: number, at: number): void {
    if (c !== QUOTE) return this.fail(`expected a key in quotes at byte ${at}, found ${describe(c)}`);
    this.stringIsKey = true;
    this.escaped = false;
    this.state = State.String;
    if (this.depth === 1) this.keyStart = at;
  }

  private close(kind: number, at: number): void {
    if (this.depth === 0 || this.stack[this.depth - 1] !== kind) return this.fail(`unexpected ${kind === OBJECT ? "'}'" : "']'"} at byte ${at}`);
    this.depth--;
    this.valueDone(at + 1);
  }

  /** A value ended just before `end`. */
  private valueDone(end: number): void {
    this.valueCount++;
    if (this.depth === 0) {
      this.state = State.Done;
      return;
    }
    this.state = State.AfterValue;
    if (this.depth !== 1 || this.stack[0] !== OBJECT) return;
    this.memberCount++;
    if (this.keyIs !== 'other') {
      if (this.models.length === this.limits.maxModelKeys) return this.fail(`more than ${this.limits.maxModelKeys} top-level keys spell "model"`);
      this.models.push({ keyStart: this.keyStart, valueEnd: end, prevEnd: this.prevEnd, exact: this.keyIs === 'exact', stringStart: this.valueStringStart });
    }
    this.prevEnd = end;
  }

  /** Inside a string from `i`; returns where scanning continues. */
  private scanString(chunk: Buffer, i: number): number {
    const start = i;
    const n = chunk.length;
    if (this.escaped) {
      this.escaped = false;
      i++;
    }
    // Keys and short values end within a few bytes: a plain loop beats a native call there.
    const near = Math.min(n, i + 32);
    while (i < near) {
      const c = chunk[i]!;
      if (c === QUOTE) return this.stringDone(chunk, start, i);
      if (c === BACKSLASH) {
        if (i + 1 === n) {
          this.escaped = true;
          return this.stringContinues(chunk, start);
        }
        i += 2;
      } else {
        i++;
      }
    }
    for (;;) {
      const quote = chunk.indexOf(QUOTE, i);
      const stop = quote === -1 ? n : quote;
      // An odd run of backslashes just before `stop` escapes it. The run cannot reach back past
      // `i`: what precedes `i` is the opening quote, an escaped character or an escaped quote.
      let run = 0;
      for (let k = stop - 1; k >= i && chunk[k] === BACKSLASH; k--) run++;
      if (quote === -1) {
        this.escaped = run % 2 === 1;
        return this.stringContinues(chunk, start);
      }
      if (run % 2 === 0) return this.stringDone(chunk, start, quote);
      i = quote + 1;
    }
  }

  /** The string goes on past this chunk. */
  private stringContinues(chunk: Buffer, start: number): number {
    if (this.stringIsKey && this.depth === 1) this.captureKey(chunk, start, chunk.length);
    return chunk.length;
  }

  /** The string's closing quote is at `quote`; returns where scanning continues. */
  private stringDone(chunk: Buffer, start: number, quote: number): number {
    if (!this.stringIsKey) {
      this.valueDone(this.base + quote + 1);
      return quote + 1;
    }
    this.state = State.Colon;
    if (this.depth === 1) {
      if (this.keyLength === 0) {
        this.keyIs = this.modelKey(chunk, start, quote);
        this.keyNames = this.streamKey(chunk, start, quote);
      } else {
        this.captureKey(chunk, start, quote);
        const whole = this.keyLength <= MAX_MODEL_KEY_BYTES;
        this.keyIs = whole ? this.modelKey(this.keyBytes!, 0, this.keyLength) : 'other';
        this.keyNames = whole ? this.streamKey(this.keyBytes!, 0, this.keyLength) : null;
      }
      this.keyLength = 0;
    }
    return quote + 1;
  }

  /** Keeps the raw bytes of a top-level key that spans chunks, as far as it could still spell `model`. */
  private captureKey(chunk: Buffer, from: number, to: number): void {
    const backslash = chunk.indexOf(BACKSLASH, from);
    if (backslash !== -1 && backslash < to) this.stream.escapedKeys = true;
    const length = to - from;
    if (this.keyLength + length > MAX_MODEL_KEY_BYTES) {
      this.keyLength = MAX_MODEL_KEY_BYTES + 1;
      return;
    }
    this.keyBytes ??= Buffer.allocUnsafe(MAX_MODEL_KEY_BYTES);
    chunk.copy(this.keyBytes, this.keyLength, from, to);
    this.keyLength += length;
  }

  /** Whether the raw key `bytes[from, to)` is exactly `stream` or `stream_options` (noting escaped keys). */
  private streamKey(bytes: Buffer, from: number, to: number): 'stream' | 'stream_options' | null {
    const length = to - from;
    if (bytes.indexOf(BACKSLASH, from) !== -1 && bytes.indexOf(BACKSLASH, from) < to) this.stream.escapedKeys = true;
    if (length === STREAM.length && bytes.compare(STREAM, 0, length, from, to) === 0) return 'stream';
    if (length === STREAM_OPTIONS.length && bytes.compare(STREAM_OPTIONS, 0, length, from, to) === 0) return 'stream_options';
    return null;
  }

  /** Whether the raw key `bytes[from, to)` is `model`, folds to it, or neither. */
  private modelKey(bytes: Buffer, from: number, to: number): 'other' | 'fold' | 'exact' {
    const length = to - from;
    if (length === MODEL.length) {
      // Unescaped: only these five ASCII letters, in either case, spell it.
      let exact = true;
      for (let j = 0; j < length; j++) {
        const b = bytes[from + j]!;
        if (b === MODEL[j]) continue;
        if (b !== MODEL[j]! - 0x20) return 'other';
        exact = false;
      }
      return exact ? 'exact' : 'fold';
    }
    // Longer spellings need escapes (no other character lower-cases to these letters).
    if (length < MODEL.length || length > MAX_MODEL_KEY_BYTES || bytes.indexOf(BACKSLASH, from) === -1 || bytes.indexOf(BACKSLASH, from) >= to) return 'other';
    let key: string;
    try {
      key = JSON.parse(`"${bytes.toString('utf8', from, to)}"`) as string;
    } catch {
      this.fail(`a top-level key has an invalid escape, at byte ${this.keyStart}`);
      return 'other';
    }
    return key === 'model' ? 'exact' : key.toLowerCase() === 'model' ? 'fold' : 'other';
  }

  private scanNumber(chunk: Buffer, i: number): number {
    const n = chunk.length;
    while (i < n) {
      const c = chunk[i]!;
      const digit = isDigit(c);
      switch (this.num) {
        case Num.Minus:
          if (!digit) return this.badNumber(c, i);
          this.num = c === 0x30 ? Num.Zero : Num.Int;
          break;
        case Num.Zero:
        case Num.Int:
        case Num.Frac:
          if (digit && this.num !== Num.Zero) break;
          if (c === 0x2e && this.num !== Num.Frac) this.num = Num.Dot;
          else if (c === 0x65 || c === 0x45) this.num = Num.Exp;
          else return this.endNumber(c, i);
          break;
        case Num.Dot:
          if (!digit) return this.badNumber(c, i);
          this.num = Num.Frac;
          break;
        case Num.Exp:
          if (c === 0x2b || c === 0x2d) this.num = Num.ExpSign;
          else if (digit) this.num = Num.ExpDigits;
          else return this.badNumber(c, i);
          break;
        case Num.ExpSign:
          if (!digit) return this.badNumber(c, i);
          this.num = Num.ExpDigits;
          break;
        case Num.ExpDigits:
          if (!digit) return this.endNumber(c, i);
          break;
      }
      i++;
    }
    return n;
  }

  private numberMayEnd(): boolean {
    return this.num === Num.Zero || this.num === Num.Int || this.num === Num.Frac || this.num === Num.ExpDigits;
  }

  /** `c` (not consumed) follows a number: fine if the number is complete. */
  private endNumber(c: number, i: number): number {
    if (!this.numberMayEnd()) return this.badNumber(c, i);
    this.valueDone(this.base + i);
    return i;
  }

  private badNumber(c: number, i: number): number {
    this.fail(`malformed number: unexpected ${describe(c)} at byte ${this.base + i}`);
    return i;
  }
}
