// The evidence convention (docs/evidence.md): any worker, in any language, can say why an attempt
// failed. Either the WORK_EXCEPTION data, or a WORK_WARNING sent before WORK_FAIL / WORK_EXCEPTION,
// is `LAZARET-EVIDENCE ` followed by a JSON object with any of:
//   exitCode (number), signal (string), stderr (string), errorClass (string), message (string).
// Anything else in WORK_EXCEPTION data is kept as the attempt's error text. One module for both sides:
// the server (the engine reads it) and `lazaret/client` (workers write it, clients read it).

export const EVIDENCE_PREFIX = 'LAZARET-EVIDENCE ';
const MAX_TEXT = 4096;

/** What a worker may attach to a failure. All optional. */
export interface Evidence {
  /** The worker's process id, when its supervisor reported its death (set by the server only). */
  pid?: number;
  exitCode?: number;
  signal?: string;
  stderr?: string;
  errorClass?: string;
  message?: string;
}

export function encodeEvidence(evidence: Evidence): Buffer {
  return Buffer.from(EVIDENCE_PREFIX + JSON.stringify(evidence));
}

/** The JSON after the prefix; undefined when the data is not evidence or does not parse. */
function evidenceJson(data: Buffer): unknown {
  if (data.length < EVIDENCE_PREFIX.length || data.toString('latin1', 0, EVIDENCE_PREFIX.length) !== EVIDENCE_PREFIX) return undefined;
  try {
    return JSON.parse(data.toString('utf8', EVIDENCE_PREFIX.length)) as unknown;
  } catch {
    return undefined;
  }
}

/** The evidence object as the worker sent it (every field kept, unchecked), or null when the data is something else. */
export function evidenceObject(data: Buffer): Record<string, unknown> | null {
  const value = evidenceJson(data);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** The fields the server keeps, checked and cut to size; null when the data is not evidence. */
export function parseEvidence(data: Buffer): Evidence | null {
  const raw = evidenceJson(data);
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
