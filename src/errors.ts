// Every error Lazaret throws across a layer is a LazaretError with a stable code.
// docs/errors.md has one row per code (test/errors.test.ts keeps the two equal).
// Retired codes (never reuse): none yet.

import { ProtocolErrorCode } from './protocol/errors.js';

const BRAND = Symbol.for('lazaret.error');

export const ErrorCode = {
  // The codec's own (src/protocol/errors.ts): it is shared with the client library.
  ...ProtocolErrorCode,
  PAYLOAD_TOO_LARGE: 'LAZ_PAYLOAD_TOO_LARGE',
  QUEUE_FULL: 'LAZ_QUEUE_FULL',
  TOO_MANY_CONNECTIONS: 'LAZ_TOO_MANY_CONNECTIONS',
  OUTPUT_OVERFLOW: 'LAZ_OUTPUT_OVERFLOW',
  STORE_FAILED: 'LAZ_STORE_FAILED',
  STORE_BUSY: 'LAZ_STORE_BUSY',
  STORE_CLOSED: 'LAZ_STORE_CLOSED',
  STORE_UNREACHABLE: 'LAZ_STORE_UNREACHABLE',
  STORE_CONNECTION_LOST: 'LAZ_STORE_CONNECTION_LOST',
  STORE_LOCKED: 'LAZ_STORE_LOCKED',
  STORE_FOREIGN: 'LAZ_STORE_FOREIGN',
  STORE_NO_SCHEMA: 'LAZ_STORE_NO_SCHEMA',
  /** A peer found this node's lease expired and took its jobs: the node may write nothing more. */
  STORE_FENCED: 'LAZ_STORE_FENCED',
  SCHEMA_TOO_NEW: 'LAZ_SCHEMA_TOO_NEW',
  CONFIG_INVALID: 'LAZ_CONFIG_INVALID',
  NOT_FOUND: 'LAZ_NOT_FOUND',
  UNAUTHORIZED: 'LAZ_UNAUTHORIZED',
  FORBIDDEN_ORIGIN: 'LAZ_FORBIDDEN_ORIGIN',
  TOO_MANY_STREAMS: 'LAZ_TOO_MANY_STREAMS',
  BAD_REQUEST: 'LAZ_BAD_REQUEST',
  SHUTTING_DOWN: 'LAZ_SHUTTING_DOWN',
  SERVER_UNREACHABLE: 'LAZ_SERVER_UNREACHABLE',
  FRAME_TIMEOUT: 'LAZ_FRAME_TIMEOUT',
  IDENTIFY_TIMEOUT: 'LAZ_IDENTIFY_TIMEOUT',
  INPUT_BUDGET: 'LAZ_INPUT_BUDGET',
  TOO_MANY_FROM_PEER: 'LAZ_TOO_MANY_FROM_PEER',
  DESCRIPTOR_LIMIT: 'LAZ_DESCRIPTOR_LIMIT',
  BAD_FUNCTION_NAME: 'LAZ_BAD_FUNCTION_NAME',
  TOO_MANY_FUNCTIONS: 'LAZ_TOO_MANY_FUNCTIONS',
  BAD_CLIENT_ID: 'LAZ_BAD_CLIENT_ID',
  TLS_HANDSHAKE: 'LAZ_TLS_HANDSHAKE',
  HTTP_ON_GEARMAN: 'LAZ_HTTP_ON_GEARMAN',
  /** An HTTP request failed on a bug of the server's; the details are in its log only. */
  INTERNAL: 'LAZ_INTERNAL',
  /** The dashboard got an HTTP error whose body carries no Lazaret error code (a proxy's page, an empty body). */
  HTTP: 'LAZ_HTTP',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class LazaretError extends Error {
  readonly code: ErrorCodeValue;
  readonly hint: string | undefined;

  constructor(code: ErrorCodeValue, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LazaretError';
    this.code = code;
    this.hint = options.hint;
  }

  get [BRAND](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }
}

export function isLazaretError(value: unknown, code?: ErrorCodeValue): value is LazaretError {
  return value instanceof LazaretError && (code === undefined || value.code === code);
}
