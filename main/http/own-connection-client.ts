import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';

/**
 * One HTTP/1.1 request on a connection of its own (`Connection: close`), its answer handed
 * on as the bytes arrive. For what a pool of kept-alive connections is wrong for: a
 * streamed answer (a connection just used may delay its first token by 40 ms, see
 * docs/ARCHITECTURE.md) and the occasional probe.
 *
 * It exists because the connector spends about 30% fewer instructions per token with it
 * than with undici (docs/ARCHITECTURE.md, section 10): one `data` listener on the socket,
 * the chunked framing decoded in place (the data handed on is a view into the bytes read,
 * never a copy), no pool, no request queue.
 * The connection serves one request, so there is no keep-alive state to get wrong:
 * the answer ends where its framing says, or where the server closes.
 *
 * Whatever the server sends is checked as strictly as Node's own parser does: a status
 * line, header lines with token names and no control characters, one length (never with a
 * transfer-encoding), chunk sizes in hex with a CRLF after each chunk, a head of at most
 * `maxHeadBytes`. Anything else ends the exchange with an error, never a guess.
 *
 * The handler's methods are named as undici's, so one handler object can serve either client.
 */

export interface RequestController {
  /** Stops reading from the server (backpressure); `resume` reads again. */
  pause(): void;
  resume(): void;
  /** Ends the exchange at once; `onResponseError` gets `reason` unless the answer had already ended. */
  abort(reason: Error): void;
}

export interface ResponseHandler {
  onRequestStart?(controller: RequestController): void;
  onResponseStart?(controller: RequestController, statusCode: number, headers: IncomingHttpHeaders): void;
  onResponseData?(controller: RequestController, chunk: Buffer): void;
  onResponseEnd?(controller: RequestController): void;
  onResponseError?(controller: RequestController, error: Error): void;
}

export interface OwnConnectionRequest {
  method: string;
  /** Origin-form target: `/v1/chat/completions?x=1`. */
  path: string;
  /** Sent as given (names lower-case); `host`, `content-length` and `connection` are set here, and refused from the caller. */
  headers: Record<string, string>;
  body: Buffer | null;
}

export interface OwnConnectionOptions {
  /** How long to wait for the whole response head (ms), however it trickles in; an interim answer (1xx) starts the wait again. */
  headersTimeoutMs: number;
  /** How long the body may go silent (ms). */
  bodyTimeoutMs: number;
  /** Largest response head accepted (default 16 KiB, Node's and undici's default). */
  maxHeadBytes?: number;
}

/** An answer this client will not read: the server broke HTTP/1.1's framing rules. */
export class ResponseFramingError extends Error {
  readonly code = 'UPSTREAM_BAD_RESPONSE';
}

/** A request this client will not write: a field that would break the request's framing. */
export class RequestRefusedError extends Error {
  readonly code = 'UPSTREAM_BAD_REQUEST';
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Origin-form: a slash, then visible ASCII only (no space, no control character). */
const REQUEST_TARGET = /^\/[\x21-\x7e]*$/;
const FORBIDDEN_IN_VALUE = /[\0\r\n]/;
/**
 * What Node's http client refuses in a header value it writes: controls but tab, and anything
 * above U+00FF, which the latin1 head would write as its low byte (U+010A as LF).
 */
const FORBIDDEN_IN_REQUEST_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Headers this client writes itself (or, for a one-request connection, must not be asked for): a second one would frame the request twice. */
const SET_HERE = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade']);
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: [^\0\r\n]*)?$/;
/** Chunk-size lines (with any extensions) and trailer sections longer than this are refused. */
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

const enum Body {
  /** Still reading the head. */
  Head,
  /** `length` bytes left. */
  Length,
  /** Until the server closes. */
  UntilClose,
  ChunkSize,
  ChunkData,
  /** The CRLF after a chunk's data. */
  ChunkEnd,
  Trailers,
  Done,
}

export function requestOnOwnConnection(origin: URL, request: OwnConnectionRequest, handler: ResponseHandler, options: OwnConnectionOptions): RequestController {
  const port = Number(origin.port) || (origin.protocol === 'https:' ? 443 : 80);
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  const exchange = new OwnConnectionExchange(handler, request.method, options);
  // The method, target and headers come from a peer: one with a line break would write lines of its own.
  const unsafe = requestProblem(request);
  if (unsafe) {
    handler.onRequestStart?.(exchange);
    queueMicrotask(() => exchange.fail(new RequestRefusedError(unsafe)));
    return exchange;
  }
  const onConnect = (socket: net.Socket): void => {
    const body = request.body ?? Buffer.alloc(0);
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${origin.host}\r\nconnection: close\r\n`;
    for (const name in request.headers) head += `${name}: ${request.headers[name]}\r\n`;
    if (body.length > 0 || request.method === 'POST' || request.method === 'PUT' || request.method === 'PATCH') head += `content-length: ${body.length}\r\n`;
    socket.write(body.length > 0 ? Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), body]) : `${head}\r\n`, 'latin1');
  };
  if (origin.protocol === 'https:') {
    // TLS only for https upstreams: most are plain http on this machine, and tls is heavy to load.
    void import('node:tls').then((tls) => exchange.attach(tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }, function (this: net.Socket) {
      onConnect(this);
    })), (error: Error) => exchange.fail(error));
  } else {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.once('connect', () => onConnect(socket));
    exchange.attach(socket);
  }
  handler.onRequestStart?.(exchange);
  return exchange;
}

/** One exchange: the socket's bytes in (`receive`), the handler's calls out. Exported for tests, which feed it bytes cut anywhere. */
export class OwnConnectionExchange implements RequestController {
  private socket: net.Socket | null = null;
  private state = Body.Head;
  /** Bytes of an unfinished head, size line or trailer section carried to the next read. */
  private pending: Buffer | null = null;
  private remaining = 0;
  private trailerBytes = 0;
  private started = false;
  private finished = false;
  private paused = false;
  /** Inside `read`: a `resume` from a handler must not start a second reading loop. */
  private reading = false;
  private abortedWith: Error | null = null;
  /** The server closed while bytes read before were held back by a pause: its close waits for them. */
  private closeHeld = false;
  /**
   * The head's deadline. The socket's idle timer alone would let a server that trickles its
   * head a byte at a time hold the request for ever; undici's headersTimeout is a deadline too.
   */
  private headDeadline: NodeJS.Timeout | null = null;

  constructor(
    private readonly handler: ResponseHandler,
    private readonly method: string,
    private readonly options: OwnConnectionOptions,
  ) {}

  attach(socket: net.Socket): void {
    if (this.abortedWith) return void socket.destroy();
    this.socket = socket;
    socket.setTimeout(this.options.headersTimeoutMs, () => this.fail(timeoutError(this.started ? 'the upstream went silent mid-answer' : 'the upstream sent no answer in time')));
    if (this.options.headersTimeoutMs > 0) this.headDeadline = setTimeout(() => this.fail(timeoutError('the upstream sent no answer in time')), this.options.headersTimeoutMs);
    socket.on('data', (data: Buffer) => this.receive(data));
    socket.on('end', () => this.serverClosed());
    socket.on('close', () => this.serverClosed());
    socket.on('error', (error: Error) => this.fail(error));
    if (this.paused) socket.pause();
  }

  pause(): void {
    this.paused = true;
    this.socket?.pause();
    // A paused socket reads nothing, so its idle timer would blame the server for our client's
    // slowness; undici's bodyTimeout does not run while paused either.
    if (this.started) this.socket?.setTimeout(0);
  }

  resume(): void {
    this.paused = false;
    if (this.started && !this.finished) this.socket?.setTimeout(this.options.bodyTimeoutMs);
    // What was read but held back while paused goes on first.
    if (this.pending && !this.reading) {
      const held = this.pending;
      this.pending = null;
      this.receive(held);
    }
    if (!this.paused) this.socket?.resume();
    if (this.closeHeld && !this.reading) {
      this.closeHeld = false;
      this.serverClosed();
    }
  }

  abort(reason: Error): void {
    if (this.finished) return;
    this.abortedWith = reason;
    this.fail(reason);
  }

  /** Ends the exchange with `error` (once), and the connection with it. */
  fail(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.endHeadDeadline();
    this.state = Body.Done;
    this.socket?.destroy();
    this.handler.onResponseError?.(this, error);
  }

  private succeed(): void {
    if (this.finished) return;
    this.finished = true;
    this.endHeadDeadline();
    this.state = Body.Done;
    this.socket?.destroy();
    this.handler.onResponseEnd?.(this);
  }

  private endHeadDeadline(): void {
    if (this.headDeadline) clearTimeout(this.headDeadline);
    this.headDeadline = null;
  }

  /** The server closed its side: the end of a body read until close, or an answer cut short. */
  serverClosed(): void {
    if (this.finished) return;
    // The socket ends once we have read everything, paused or not: what a pause holds back
    // comes first, or the end of the answer in it would read as a close mid-answer.
    if (this.paused && this.pending) {
      this.closeHeld = true;
      return;
    }
    if (this.state === Body.UntilClose) return this.succeed();
    this.fail(Object.assign(new Error(this.started ? 'the upstream closed the connection mid-answer' : 'the upstream closed the connection without answering'), { code: 'ECONNRESET' }));
  }

  /** Bytes from the server, as they were read. */
  receive(data: Buffer): void {
    let at = 0;
    if (this.pending) {
      data = Buffer.concat([this.pending, data]);
      this.pending = null;
    }
    const n = data.length;
    this.reading = true;
    while (at < n && !this.finished) {
      if (this.paused && this.started) {
        this.pending = data.subarray(at);
        break;
      }
      switch (this.state) {
        case Body.Head:
          at = this.readHead(data, at);
          break;
        case Body.Length: {
          const take = Math.min(this.remaining, n - at);
          this.remaining -= take;
          this.emit(data, at, at + take);
          at += take;
          if (this.remaining === 0) this.succeed();
          break;
        }
        case Body.UntilClose:
          this.emit(data, at, n);
          at = n;
          break;
        case Body.ChunkSize:
          at = this.readChunkSize(data, at);
          break;
        case Body.ChunkData: {
          const take = Math.min(this.remaining, n - at);
          this.remaining -= take;
          this.emit(data, at, at + take);
          at += take;
          if (this.remaining === 0) this.state = Body.ChunkEnd;
          break;
        }
        case Body.ChunkEnd:
          if (n - at < 2) {
            this.pending = data.subarray(at);
            at = n;
          } else if (data[at] !== 0x0d || data[at + 1] !== 0x0a) {
            this.fail(new ResponseFramingError('a chunk of the answer is not followed by CRLF'));
          } else {
            at += 2;
            this.state = Body.ChunkSize;
          }
          break;
        case Body.Trailers:
          at = this.readTrailers(data, at);
          break;
        case Body.Done:
          at = n;
          break;
      }
    }
    this.reading = false;
  }

  private emit(data: Buffer, from: number, to: number): void {
    if (to > from) this.handler.onResponseData?.(this, data.subarray(from, to));
  }

  /** Parses the head once it is whole; returns where the body starts. */
  private readHead(data: Buffer, at: number): number {
    const end = data.indexOf(HEAD_END, at);
    const limit = this.options.maxHeadBytes ?? 16 * 1024;
    if (end === -1) {
      if (data.length - at > limit) this.fail(new ResponseFramingError(`the answer's head is larger than ${limit} bytes`));
      else this.pending = data.subarray(at);
      return data.length;
    }
    if (end - at > limit) {
      this.fail(new ResponseFramingError(`the answer's head is larger than ${limit} bytes`));
      return data.length;
    }
    const lines = data.toString('latin1', at, end).split('\r\n');
    const status = STATUS_LINE.exec(lines[0]!);
    if (!status) {
      this.fail(new ResponseFramingError(`the answer does not start with an HTTP/1.1 status line`));
      return data.length;
    }
    const code = Number(status[1]);
    // No prototype: a header named `constructor` or `__proto__` is a header, not Object's own member.
    const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      const value = line.slice(colon + 1).trim();
      if (!TOKEN.test(name) || FORBIDDEN_IN_VALUE.test(value)) {
        this.fail(new ResponseFramingError('the answer has a malformed header line'));
        return data.length;
      }
      const key = name.toLowerCase();
      const seen = headers[key];
      if (seen === undefined) headers[key] = value;
      else headers[key] = Array.isArray(seen) ? [...seen, value] : [seen, value];
    }
    const bodyStart = end + HEAD_END.length;
    // Interim answers (100 Continue, 103 Early Hints) come before the real one.
    if (code >= 100 && code < 200) {
      if (code === 101) this.fail(new ResponseFramingError('the upstream switched protocols unasked'));
      // Each says the server is at work, so the wait starts again (as undici's does).
      this.headDeadline?.refresh();
      return bodyStart;
    }
    const framing = bodyFraming(this.method, code, headers);
    if ('problem' in framing) {
      this.fail(new ResponseFramingError(framing.problem));
      return data.length;
    }
    this.started = true;
    this.endHeadDeadline();
    this.socket?.setTimeout(this.options.bodyTimeoutMs);
    this.state = framing.state;
    this.remaining = framing.length;
    this.handler.onResponseStart?.(this, code, headers);
    if (this.state === Body.Done || (this.state === Body.Length && this.remaining === 0)) this.succeed();
    return bodyStart;
  }

  private readChunkSize(data: Buffer, at: number): number {
    const lf = data.indexOf(0x0a, at);
    if (lf === -1 || lf - at > MAX_LINE_BYTES) {
      if (data.length - at > MAX_LINE_BYTES) this.fail(new ResponseFramingError('a chunk-size line of the answer is too long'));
      else this.pending = data.subarray(at);
      return data.length;
    }
    let size = 0;
    let i = at;
    for (; i < lf; i++) {
      const c = data[i]!;
      const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
      if (digit === -1) break;
      size = size * 16 + digit;
    }
    // Hex digits, then nothing, an extension (`;…`) or whitespace before it; CRLF at the end.
    const next = data[i];
    if (i === at || i - at > 13 || data.indexOf(0x0d, i) !== lf - 1 || (i < lf - 1 && next !== 0x3b && next !== 0x20 && next !== 0x09)) {
      this.fail(new ResponseFramingError('the answer has a malformed chunk size'));
      return data.length;
    }
    if (size === 0) {
      this.state = Body.Trailers;
    } else {
      this.state = Body.ChunkData;
      this.remaining = size;
    }
    return lf + 1;
  }

  /** Trailer lines after the last chunk, up to the empty line that ends the answer; they are not passed on. */
  private readTrailers(data: Buffer, at: number): number {
    for (;;) {
      const crlf = data.indexOf(CRLF, at);
      if (crlf === -1) {
        this.trailerBytes += data.length - at;
        if (this.trailerBytes > MAX_TRAILER_BYTES) this.fail(new ResponseFramingError('the answer has too many trailers'));
        else this.pending = data.subarray(at);
        return data.length;
      }
      this.trailerBytes += crlf + 2 - at;
      if (this.trailerBytes > MAX_TRAILER_BYTES) {
        this.fail(new ResponseFramingError('the answer has too many trailers'));
        return data.length;
      }
      if (crlf === at) {
        this.succeed();
        return crlf + 2;
      }
      at = crlf + 2;
    }
  }
}

/** What makes `request` unsafe to write as HTTP/1.1, or null. */
function requestProblem(request: OwnConnectionRequest): string | null {
  if (!TOKEN.test(request.method)) return 'the request method is not an HTTP token';
  if (!REQUEST_TARGET.test(request.path)) return 'the request target is not an origin-form path';
  for (const name in request.headers) {
    if (!TOKEN.test(name)) return 'a request header name is not an HTTP token';
    if (SET_HERE.has(name.toLowerCase())) return `the request header '${name}' is set by the client itself`;
    if (FORBIDDEN_IN_REQUEST_VALUE.test(request.headers[name]!)) return `the request header '${name}' holds a character HTTP does not allow`;
  }
  return null;
}

/** How the body of an answer ends (RFC 9112 §6.3). */
function bodyFraming(method: string, status: number, headers: IncomingHttpHeaders): { state: Body; length: number } | { problem: string } {
  if (method === 'HEAD' || status === 204 || status === 304) return { state: Body.Done, length: 0 };
  const te = headers['transfer-encoding'];
  const cl = headers['content-length'];
  // RFC 9112 §6.3 lets a recipient treat this as smuggling; Node's parser and undici refuse it,
  // and a length passed on with a body decoded from chunks would frame the client's copy wrong.
  if (te !== undefined && cl !== undefined) return { problem: 'the answer has both transfer-encoding and content-length' };
  if (te !== undefined) {
    const codings = (Array.isArray(te) ? te.join(',') : te).split(',').map((c) => c.trim().toLowerCase());
    // Chunked must come last; anything else is read until the server closes.
    return codings[codings.length - 1] === 'chunked' ? { state: Body.ChunkSize, length: 0 } : { state: Body.UntilClose, length: 0 };
  }
  if (cl !== undefined) {
    const values = (Array.isArray(cl) ? cl.join(',') : cl).split(',').map((v) => v.trim());
    if (!values.every((v) => /^\d{1,15}$/.test(v)) || new Set(values).size !== 1) return { problem: `the answer has an invalid content-length '${values.join(',').slice(0, 40)}'` };
    return { state: Body.Length, length: Number(values[0]) };
  }
  return { state: Body.UntilClose, length: 0 };
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { code: 'UPSTREAM_TIMEOUT' });
}
