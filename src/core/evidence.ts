// The evidence convention (docs/evidence.md): any worker, in any language, can say why an attempt
// failed. Either the WORK_EXCEPTION data, or a WORK_WARNING sent before WORK_FAIL / WORK_EXCEPTION,
// is `LAZARET-EVIDENCE ` followed by a JSON object with any of:
//   exitCode (number), signal (string), stderr (string), errorClass (string), message (string).
// Anything else in WORK_EXCEPTION data is kept as the attempt's error text.

import type { Evidence } from '../storage/types.js';

export const EVIDENCE_PREFIX = 'LAZARET-EVIDENCE ';
const MAX_TEXT = 4096;

export function parseEvidence(data: Buffer): Evidence | null {
  if (data.length < EVIDENCE_PREFIX.length || data.toString('latin1', 0, EVIDENCE_PREFIX.length) !== EVIDENCE_PREFIX) {
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8', EVIDENCE_PREFIX.length));
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const o = raw as Record<string, unknown>;
  const ev: Evidence = {};
  if (typeof o.exitCode === 'number' && Number.isInteger(o.exitCode)) ev.exitCode = o.exitCode;
  if (typeof o.signal === 'string') ev.signal = o.signal.slice(0, 32);
  if (typeof o.stderr === 'string') ev.stderr = o.stderr.slice(-MAX_TEXT);
  if (typeof o.errorClass === 'string') ev.errorClass = o.errorClass.slice(0, 200);
  if (typeof o.message === 'string') ev.message = o.message.slice(0, MAX_TEXT);
  return ev;
}

/** Error text for an attempt from WORK_EXCEPTION data that is not evidence. */
export function errorText(data: Buffer): string {
  const text = data.toString('utf8', 0, Math.min(data.length, MAX_TEXT));
  return text.length === 0 ? 'exception' : text;
}
