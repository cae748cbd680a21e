// The evidence convention (docs/evidence.md), as a worker writes it and a client reads it.

export const EVIDENCE_PREFIX = 'LAZARET-EVIDENCE ';

export interface Evidence {
  exitCode?: number;
  signal?: string;
  stderr?: string;
  errorClass?: string;
  message?: string;
}

export function encodeEvidence(evidence: Evidence): Buffer {
  return Buffer.from(EVIDENCE_PREFIX + JSON.stringify(evidence));
}

/** The evidence object in WORK_EXCEPTION / WORK_WARNING data, or null when the data is something else. */
export function parseEvidence(data: Buffer): Record<string, unknown> | null {
  if (data.toString('latin1', 0, EVIDENCE_PREFIX.length) !== EVIDENCE_PREFIX) return null;
  try {
    const value: unknown = JSON.parse(data.toString('utf8', EVIDENCE_PREFIX.length));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
