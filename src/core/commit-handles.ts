// The job handles a write batch touches, for the log lines that say which jobs a failed write concerns.

import type { WriteBatch } from '../storage/types.js';

export function batchHandles(b: WriteBatch, handleOf: (id: number) => string): string[] {
  const out = new Set<string>();
  for (const r of b.insertJobs) out.add(r.handle);
  for (const r of b.quarantine) out.add(r.handle);
  for (const r of b.outcomes) out.add(r.handle);
  for (const r of b.startAttempts) out.add(handleOf(r.jobId));
  for (const r of b.endAttempts) out.add(handleOf(r.jobId));
  for (const id of b.deleteJobs) out.add(handleOf(id));
  return [...out];
}
