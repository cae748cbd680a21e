// CAN_DO, CAN_DO_TIMEOUT, CANT_DO, RESET_ABILITIES, ALL_YOURS (README, Where Lazaret differs: B5, B14).

import { ErrorCode, isLazaretError } from '../../errors.js';
import { errorPacket } from '../../protocol/encoder.js';
import type { Connection } from '../connection.js';
import type { Handler } from './index.js';
import { workerOf } from './grab.js';

/** The Gearman ERROR a bad function name or the function cap gets; other errors propagate. */
export function functionError(err: unknown): Buffer {
  if (isLazaretError(err, ErrorCode.BAD_FUNCTION_NAME)) return errorPacket('INVALID_FUNCTION_NAME', err.message);
  if (isLazaretError(err, ErrorCode.TOO_MANY_FUNCTIONS)) return errorPacket('TOO_MANY_FUNCTIONS', err.message);
  throw err;
}

function canDo(conn: Connection, name: string, timeout: number | null): void {
  try {
    conn.ctx.engine.canDo(workerOf(conn), name, timeout);
  } catch (err) {
    const reply = functionError(err);
    // The peer is told; at debug only, so a spray of bad names cannot flood the log.
    conn.log.debug({ code: (err as { code: string }).code, fn: name.slice(0, 100) }, 'CAN_DO refused');
    conn.reply(reply);
  }
}

/** setTimeout's ceiling; longer CAN_DO_TIMEOUTs are clamped to it (about 24.8 days). */
const MAX_TIMEOUT_MS = 2_147_483_647;

export const handleCanDo: Handler = (conn, args) => canDo(conn, args[0]!.toString(), null);

/** Milliseconds; 1..999 become 1000; 0, negative or garbage mean none; over 20 bytes is ignored, as gearmand reads it. */
export function parseCanDoTimeout(field: Buffer): number | null | undefined {
  if (field.length > 20) return undefined;
  const n = Number.parseInt(field.toString('latin1'), 10);
  if (!Number.isFinite(n) || n <= 0) return null;
  return Math.min(Math.max(n, 1000), MAX_TIMEOUT_MS);
}

export const handleCanDoTimeout: Handler = (conn, args) => {
  const timeout = parseCanDoTimeout(args[1]!);
  if (timeout === undefined) {
    conn.log.warn({ fn: args[0]!.subarray(0, 100).toString() }, 'CAN_DO_TIMEOUT with a timeout field over 20 bytes; ignored');
    return;
  }
  canDo(conn, args[0]!.toString(), timeout);
};

export const handleCantDo: Handler = (conn, args) => {
  if (conn.worker) conn.ctx.engine.cantDo(conn.worker, args[0]!.toString());
};

export const handleResetAbilities: Handler = (conn) => {
  if (conn.worker) conn.ctx.engine.resetAbilities(conn.worker);
};

/** The worker says it serves only this server; nothing to do (gearmand refuses it with an ERROR). */
export const handleAllYours: Handler = () => undefined;
