// The errors the codec throws. The codec is shared with the client library, so it imports nothing from
// outside src/protocol: its codes are declared here, spread into the server's catalogue (ErrorCode in
// src/errors.ts) and carry the same brand, so `isLazaretError()` and `instanceof LazaretError` recognise
// them. docs/errors.md has a row for each.

const BRAND = Symbol.for('lazaret.error');

export const ProtocolErrorCode = {
  FRAME_TOO_LARGE: 'LAZ_FRAME_TOO_LARGE',
  BAD_MAGIC: 'LAZ_BAD_MAGIC',
  UNKNOWN_PACKET: 'LAZ_UNKNOWN_PACKET',
  MALFORMED_PACKET: 'LAZ_MALFORMED_PACKET',
  LINE_TOO_LONG: 'LAZ_LINE_TOO_LONG',
} as const;

export type ProtocolErrorCodeValue = (typeof ProtocolErrorCode)[keyof typeof ProtocolErrorCode];

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCodeValue;
  readonly hint: string | undefined;

  constructor(code: ProtocolErrorCodeValue, message: string, options: { hint?: string } = {}) {
    super(message);
    this.name = 'LazaretError';
    this.code = code;
    this.hint = options.hint;
  }

  get [BRAND](): true {
    return true;
  }
}
