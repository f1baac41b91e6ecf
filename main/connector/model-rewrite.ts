/**
 * Rewrites the top-level `"model"` of a JSON request body without parsing the rest of it.
 * Agents send long conversations; a full JSON.parse + JSON.stringify per request costs
 * far more than walking the bytes once, and leaves every other byte exactly as the client
 * sent it. Returns null when the body is not a plain object with exactly one top-level
 * string `"model"` key (or uses escapes in that key); the caller then parses it properly.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MODEL = Buffer.from('model');

function skipWhitespace(buf: Buffer, i: number): number {
  while (i < buf.length) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** Index just past the string starting at `i` (an opening quote), or -1. */
function skipString(buf: Buffer, i: number): number {
  let j = i + 1;
  for (;;) {
    const quote = buf.indexOf(QUOTE, j);
    if (quote === -1) return -1;
    let backslashes = 0;
    for (let k = quote - 1; k > i && buf[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    j = quote + 1;
  }
}

/** Index just past the JSON value starting at `i`, or -1 when malformed. */
function skipValue(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) return skipString(buf, i);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    let j = i;
    while (j < buf.length) {
      const d = buf[j]!;
      if (d === QUOTE) {
        j = skipString(buf, j);
        if (j === -1) return -1;
        continue;
      }
      if (d === OPEN_OBJECT || d === OPEN_ARRAY) depth++;
      else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  // number, true, false, null
  let j = i;
  while (j < buf.length) {
    const d = buf[j]!;
    if (d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09) break;
    j++;
  }
  return j > i ? j : -1;
}

export function rewriteModel(body: Buffer, model: string): Buffer | null {
  let i = skipWhitespace(body, 0);
  if (body[i] !== OPEN_OBJECT) return null;
  i = skipWhitespace(body, i + 1);
  let span: [number, number] | null = null;
  if (body[i] === CLOSE_OBJECT) return null;
  for (;;) {
    if (body[i] !== QUOTE) return null;
    const keyEnd = skipString(body, i);
    if (keyEnd === -1) return null;
    const isModel = keyEnd - i - 2 === MODEL.length && body.compare(MODEL, 0, MODEL.length, i + 1, keyEnd - 1) === 0;
    if (!isModel && body.subarray(i, keyEnd).includes(BACKSLASH)) {
      // An escaped key might spell "model" in disguise: let the full parser decide.
      return null;
    }
    i = skipWhitespace(body, keyEnd);
    if (body[i] !== COLON) return null;
    const valueStart = skipWhitespace(body, i + 1);
    const valueEnd = skipValue(body, valueStart);
    if (valueEnd === -1) return null;
    if (isModel) {
      if (span || body[valueStart] !== QUOTE) return null;
      span = [valueStart, valueEnd];
    }
    i = skipWhitespace(body, valueEnd);
    if (body[i] === COMMA) {
      i = skipWhitespace(body, i + 1);
      continue;
    }
    if (body[i] !== CLOSE_OBJECT) return null;
    if (skipWhitespace(body, i + 1) !== body.length) return null;
    break;
  }
  if (!span) return null;
  return Buffer.concat([body.subarray(0, span[0]), Buffer.from(JSON.stringify(model)), body.subarray(span[1])]);
}
