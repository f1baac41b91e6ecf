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
  'STORE_LOCKED',
  'PORT_IN_USE',
  'STORE_CORRUPT',
  'WORKER_FAILED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export class TokiosError extends Error {
  override readonly name: string = 'TokiosError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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
