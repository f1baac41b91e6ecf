import type { IncomingMessage } from 'node:http';
import { HeldBody, type ByteBudget } from '../http/held-body.js';
import { JsonModelScanner, type JsonScan } from '../http/json-model-scanner.js';

/**
 * Reads a model-routed request's body: held as the chunks it arrives in (never joined),
 * counted against the gateway-wide budget, and scanned for its top-level `model` as it
 * comes, so finding the route costs a few hundred bytes and one pass whatever the body
 * holds — eleven million empty objects included — and never blocks the event loop for
 * longer than one chunk takes.
 */

export type RoutedBody =
  | { kind: 'read'; body: HeldBody; scan: JsonScan }
  /** Over the per-request limit. */
  | { kind: 'too-large' }
  /** The gateway already holds as many body bytes as it may. */
  | { kind: 'busy' }
  | { kind: 'gone' };

/** The `model` found; `tooLong` when it cannot be a deployment name (and was not decoded whole). */
export type ModelField = { model: string; tooLong?: boolean } | { missing: true } | { problem: string };

/** Longest `model` value (as sent, escapes included) worth decoding; names are far shorter. */
const MAX_MODEL_BYTES = 1024;

export function readRoutedBody(req: IncomingMessage, maxBytes: number, budget: ByteBudget): Promise<RoutedBody> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) return Promise.resolve({ kind: 'too-large' });
  // Refuse at once what would not fit anyway, before a byte of it is read.
  if (declared > budget.limit - budget.held) return Promise.resolve({ kind: 'busy' });
  return new Promise((resolve) => {
    const body = new HeldBody(budget);
    const scanner = new JsonModelScanner();
    const finish = (outcome: RoutedBody): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onClose);
      if (outcome.kind !== 'read') {
        body.release();
        // Let the rest of the body go by unread; the answer closes the connection.
        req.resume();
      }
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      if (body.size + chunk.length > maxBytes) return finish({ kind: 'too-large' });
      if (scanner.problem !== null) {
        // Already known to be refused: keep reading to answer on a healthy connection, holding nothing.
        body.size += chunk.length;
        return;
      }
      if (!body.add(chunk)) return finish({ kind: 'busy' });
      scanner.push(chunk);
      if (scanner.problem !== null) body.release();
    };
    const onEnd = (): void => finish({ kind: 'read', body, scan: scanner.finish() });
    const onGone = (): void => finish({ kind: 'gone' });
    const onClose = (): void => {
      if (!req.complete) onGone();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onClose);
  });
}

/** The body's top-level `model`, as JSON.parse would see it (the last one wins). */
export function modelField(body: HeldBody, scan: Extract<JsonScan, { ok: true }>): ModelField {
  let member = null;
  for (const m of scan.models) if (m.exact) member = m;
  if (!member || member.stringStart === -1) return { missing: true };
  if (member.valueEnd - member.stringStart > MAX_MODEL_BYTES) {
    return { model: body.slice(member.stringStart + 1, member.stringStart + 61).toString('utf8'), tooLong: true };
  }
  try {
    return { model: JSON.parse(body.slice(member.stringStart, member.valueEnd).toString('utf8')) as string };
  } catch {
    return { problem: 'the "model" string has an invalid escape' };
  }
}
