// The range of times a job may carry. The store keeps them as SQLite integers; a value outside this
// range (1e300, Infinity, a fraction) would make the whole group commit fail, so it is refused before
// it joins one. The ceiling is the one the Gearman SUBMIT_JOB_EPOCH path already applies.

import { ErrorCode, LazaretError } from '../errors.js';

/** 9999-12-31T23:59:59.999Z */
export const MAX_TIME_MS = 253_402_300_799_999;

/** `value` as a job time (ms since the epoch), or a LAZ_BAD_REQUEST naming `name`. */
export function checkTime(value: number | null | undefined, name: string): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_TIME_MS) {
    throw new LazaretError(
      ErrorCode.BAD_REQUEST,
      `${name} ${String(value)} is not a time Lazaret can store: give whole milliseconds since 1970, up to 9999-12-31T23:59:59.999Z`,
    );
  }
  return value;
}
