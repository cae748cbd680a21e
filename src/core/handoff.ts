// The JSON a quarantine function receives for each quarantined job (docs/quarantine.md).

import type { AttemptRow, QuarantineRow } from '../storage/types.js';
import { PRIORITY_NAMES } from '../domain.js';

/** Epoch milliseconds as an ISO time, as every JSON view shows times. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function describeQuarantined(entry: QuarantineRow): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: entry.id,
      handle: entry.handle,
      function: entry.function,
      unique: entry.unique,
      priority: PRIORITY_NAMES[entry.priority],
      // What a hand-off worker needs to tell the right user without decoding the payload.
      tags: entry.tags,
      reason: entry.reason,
      detail: entry.detail,
      submittedAt: iso(entry.submittedAt),
      deadline: iso(entry.deadline),
      quarantinedAt: iso(entry.quarantinedAt),
      payloadBase64: entry.payload.toString('base64'),
      attempts: entry.attempts.map(attemptView),
    }),
  );
}

/** An attempt as the hand-off JSON and the HTTP API show it. */
export function attemptView(a: AttemptRow) {
  return {
    n: a.n,
    worker: a.worker,
    startedAt: iso(a.startedAt)!,
    endedAt: iso(a.endedAt),
    outcome: a.outcome,
    error: a.error,
    evidence: a.evidence,
  };
}
