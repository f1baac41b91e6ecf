/**
 * One error base class with a stable `code`. Callers branch on `code`, never on the
 * message text; messages say what happened, to what, and what to do.
 */

export const ErrorCodes = [
  'CONFIG_INVALID',
  'CONFIG_UNREADABLE',
  'USAGE',
  'TUNNEL_TOKEN_REJECTED',
  'TUNNEL_PROTOCOL',
  'TUNNEL_CLOSED',
  'GATEWAY_UNREACHABLE',
  'GATEWAY_ERROR',
  'UPSTREAM_UNREACHABLE',
  'UPSTREAM_MODEL_UNKNOWN',
  'NAME_INVALID',
  'TOKEN_INVALID',
  'NOT_FOUND',
  'CONFLICT',
  'INVALID_ARGUMENT',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'RATE_LIMITED',
  'STORE_LOCKED',
  /** The gateway's database cannot be reached: changes are refused until it is back. */
  'STORE_UNAVAILABLE',
  'PORT_IN_USE',
  'STORE_CORRUPT',
  'WORKER_FAILED',
  /** A request the connector's allowlist refused (reported in health, never thrown). */
  'PATH_NOT_ALLOWED',
  /** A request that failed at the connector (reported in health, never thrown). */
  'REQUEST_FAILED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/** How an HTTP server (the gateway's control plane) answers a request that failed with a code. */
export interface HttpError {
  status: number;
  /** The OpenAI error `type`. */
  type: 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'rate_limit_error' | 'server_error';
}

const invalid = (status: number): HttpError => ({ status, type: 'invalid_request_error' });
const server = (status: number): HttpError => ({ status, type: 'server_error' });

/** The one error → HTTP status table. */
export const HTTP_ERRORS: Readonly<Record<ErrorCode, HttpError>> = {
  CONFIG_INVALID: invalid(400),
  CONFIG_UNREADABLE: invalid(400),
  USAGE: invalid(400),
  TUNNEL_TOKEN_REJECTED: { status: 401, type: 'authentication_error' },
  TUNNEL_PROTOCOL: invalid(400),
  TUNNEL_CLOSED: server(502),
  GATEWAY_UNREACHABLE: server(502),
  GATEWAY_ERROR: server(502),
  UPSTREAM_UNREACHABLE: server(502),
  UPSTREAM_MODEL_UNKNOWN: invalid(404),
  NAME_INVALID: invalid(400),
  TOKEN_INVALID: invalid(400),
  NOT_FOUND: invalid(404),
  CONFLICT: invalid(409),
  INVALID_ARGUMENT: invalid(400),
  UNAUTHORIZED: { status: 401, type: 'authentication_error' },
  FORBIDDEN: { status: 403, type: 'permission_error' },
  RATE_LIMITED: { status: 429, type: 'rate_limit_error' },
  STORE_LOCKED: server(503),
  STORE_UNAVAILABLE: server(503),
  PORT_IN_USE: server(500),
  STORE_CORRUPT: server(500),
  WORKER_FAILED: server(500),
  PATH_NOT_ALLOWED: invalid(403),
  REQUEST_FAILED: server(502),
  INTERNAL: server(500),
};

export class TokiosError extends Error {
  override readonly name: string = 'TokiosError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A wrong argument, naming its field, so each surface names it its own way: `--expires` on
 * the command line, `expires` in a JSON body.
 */
export class InvalidFieldError extends TokiosError {
  override readonly name = 'InvalidFieldError';

  constructor(
    readonly field: string,
    /** What is wrong, without the field's name: "must be a duration such as 30d, got '30x'". */
    readonly problem: string,
  ) {
    super('INVALID_ARGUMENT', `${field} ${problem}`);
  }
}

/** A `tokios.json` (or other user file) that cannot be used; names the file and field. */
export class ConfigError extends TokiosError {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly field: string | null;

  constructor(file: string, field: string | null, problem: string) {
    super('CONFIG_INVALID', field ? `${file}: field \`${field}\` ${problem}` : `${file}: ${problem}`);
    this.file = file;
    this.field = field;
  }
}

export function isTokiosError(error: unknown): error is TokiosError {
  return error instanceof TokiosError;
}

/** The error as plain data, the way it crosses process and IPC boundaries. */
export interface ErrorData {
  name: string;
  code: ErrorCode;
  message: string;
}

export function toErrorData(error: unknown): ErrorData {
  if (isTokiosError(error)) return { name: error.name, code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { name: 'Error', code: 'INTERNAL', message };
}

export function fromErrorData(data: ErrorData): TokiosError {
  const error = new TokiosError(ErrorCodes.includes(data.code) ? data.code : 'INTERNAL', data.message);
  Object.defineProperty(error, 'name', { value: data.name });
  return error;
}

/** The OpenAI error body: `{"error": {"message", "type", "code", "param"}}`. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    code: string | null;
    param: string | null;
  };
}

export function openAIError(message: string, type: string, code: string | null, param: string | null = null): OpenAIErrorBody {
  return { error: { message, type, code, param } };
}
