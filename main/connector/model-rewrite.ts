import type { HeldBody } from '../http/held-body.js';
import type { JsonScan } from '../http/json-model-scanner.js';

/**
 * Sets the top-level `"model"` of a JSON request body to the upstream's model by splicing
 * bytes at the offsets the scanner found: the body is never parsed into objects nor
 * serialised again, so whatever it holds (deep nesting, odd escapes, huge strings) costs
 * one pass and one copy, and every other byte reaches the upstream exactly as sent.
 *
 * Exactly one `model` leaves: the first top-level key that folds to `model` (any case,
 * any escaping) becomes `"model": <the upstream's model>`, and every other such key is
 * removed with its value. Removing rather than refusing keeps what duplicate keys always
 * meant here (the connector's choice wins) and leaves nothing for a server with
 * case-insensitive JSON keys (Go's, so Ollama's) to pick instead of the pinned model.
 * A body without one gets it as its first member.
 */

/** `body` with its model set to `model`, or why it cannot be (the scan found no JSON object). */
export function rewriteModel(body: HeldBody, scan: JsonScan, model: string): { body: Buffer } | { problem: string } {
  if (!scan.ok) return { problem: `request body is not valid JSON: ${scan.problem}` };
  if (!scan.isObject) return { problem: 'request body is not a JSON object' };
  const member = Buffer.from(`"model":${JSON.stringify(model)}`);
  const [first, ...rest] = scan.models;
  // Edits in body order: [start, end) replaced by `insert`.
  const edits: Array<[number, number, Buffer | null]> = first
    ? [[first.keyStart, first.valueEnd, member], ...rest.map((m): [number, number, null] => [m.prevEnd, m.valueEnd, null])]
    : [[scan.objectStart + 1, scan.objectStart + 1, scan.memberCount > 0 ? Buffer.concat([member, Buffer.from(',')]) : member]];
  let length = body.size;
  for (const [start, end, insert] of edits) length += (insert?.length ?? 0) - (end - start);
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  let from = 0;
  for (const [start, end, insert] of edits) {
    at = body.copyTo(out, at, from, start);
    if (insert) at += insert.copy(out, at);
    from = end;
  }
  body.copyTo(out, at, from, body.size);
  return { body: out };
}
