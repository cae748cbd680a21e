// Errors of the client and worker library. The library imports src/protocol only (docs/architecture.md, Layers), so its
// errors are declared here; they carry the same brand as src/errors.ts, so `instanceof LazaretError` and
// `isLazaretError()` recognise them too. Every code is listed in docs/errors.md.

const BRAND = Symbol.for('lazaret.error');

export const ClientErrorCode = {
  TIMEOUT: 'LAZ_TIMEOUT',
  NO_SERVER: 'LAZ_NO_SERVER',
  CONNECTION_LOST: 'LAZ_CONNECTION_LOST',
  SERVER_ERROR: 'LAZ_SERVER_ERROR',
  JOB_FAILED: 'LAZ_JOB_FAILED',
  JOB_EXCEPTION: 'LAZ_JOB_EXCEPTION',
  CLIENT_CLOSED: 'LAZ_CLIENT_CLOSED',
  INVALID_ARGUMENT: 'LAZ_INVALID_ARGUMENT',
} as const;

export type ClientErrorCodeValue = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class ClientError extends Error {
  readonly code: ClientErrorCodeValue;
  readonly hint: string | undefined;

  constructor(code: ClientErrorCodeValue, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClientError';
    this.code = code;
    this.hint = options.hint;
  }

  get [BRAND](): true {
    return true;
  }
}

/** A job ended in WORK_FAIL or WORK_EXCEPTION. `data` is the exception data (empty for WORK_FAIL). */
export class JobError extends ClientError {
  readonly handle: string;
  readonly data: Buffer;
  /** The LAZARET-EVIDENCE object the worker attached, if any (docs/evidence.md). */
  readonly evidence: Record<string, unknown> | null;

  constructor(code: 'LAZ_JOB_FAILED' | 'LAZ_JOB_EXCEPTION', message: string, handle: string, data: Buffer, evidence: Record<string, unknown> | null) {
    super(code, message);
    this.name = 'JobError';
    this.handle = handle;
    this.data = data;
    this.evidence = evidence;
  }
}

export function timeoutError(what: string, ms: number, hint?: string): ClientError {
  return new ClientError(ClientErrorCode.TIMEOUT, `${what}: no answer within ${ms} ms`, { hint });
}

export function isClientError(value: unknown, code?: ClientErrorCodeValue): value is ClientError {
  return value instanceof ClientError && (code === undefined || value.code === code);
}
