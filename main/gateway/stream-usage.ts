import type { HeldBody } from '../http/held-body.js';
import type { JsonScan } from '../http/json-model-scanner.js';

/**
 * OpenAI-style streams report token usage only when asked (`stream_options.include_usage`),
 * and tokens-per-minute limits and usage totals need that count. So a streaming
 * `/v1/chat/completions` or `/v1/completions` request that did not ask gets the option
 * added, and the extra usage-only event it causes (`"choices":[]` with `usage`) is taken
 * out of the answer again, so the client sees the stream it asked for.
 *
 * Both steps work on bytes: the option is spliced in after the body's opening brace, using
 * what the routing scan already found (a top-level `"stream": true` and no `stream_options`),
 * and answer chunks are searched for the marker with one native `indexOf`, so ordinary
 * chunks cost next to nothing.
 */

const ASKS = new Set(['/v1/chat/completions', '/v1/completions']);
const OPTION = Buffer.from('"stream_options":{"include_usage":true},');
const MARKER = Buffer.from('"choices":[]');
const DATA = Buffer.from('data:');
const EVENT_END = Buffer.from('\n\n');

/** Adds the request for usage to `body` when it needs one; true when it did. */
export function askForStreamUsage(pathname: string, scan: JsonScan, body: HeldBody): boolean {
  if (!ASKS.has(pathname) || !scan.ok || !scan.isObject || scan.memberCount === 0) return false;
  if (!scan.stream.on || scan.stream.options || scan.stream.escapedKeys) return false;
  spliceAfter(body, scan.objectStart + 1, OPTION);
  return true;
}

/** Inserts `insert` at byte `offset` of the body, splitting the chunk it falls in. */
function spliceAfter(body: HeldBody, offset: number, insert: Buffer): void {
  let start = 0;
  for (let i = 0; i < body.chunks.length; i++) {
    const chunk = body.chunks[i]!;
    if (offset <= start + chunk.length) {
      const at = offset - start;
      body.chunks.splice(i, 1, chunk.subarray(0, at), insert, chunk.subarray(at));
      body.size += insert.length;
      return;
    }
    start += chunk.length;
  }
}

/**
 * Removes usage-only events the client did not ask for. An event split across chunks is
 * left as it is (the client then sees one extra, valid event), never cut in half.
 */
export function dropUsageOnlyEvents(chunk: Buffer): Buffer {
  let at = chunk.indexOf(MARKER);
  if (at === -1) return chunk;
  let out = chunk;
  while (at !== -1) {
    const start = out.lastIndexOf(DATA, at);
    const end = out.indexOf(EVENT_END, at);
    const atLineStart = start === 0 || (start > 0 && out[start - 1] === 0x0a);
    if (start === -1 || end === -1 || !atLineStart) return out;
    out = Buffer.concat([out.subarray(0, start), out.subarray(end + EVENT_END.length)]);
    at = out.indexOf(MARKER, start);
  }
  return out;
}
