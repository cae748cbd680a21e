// What submissions of one function coalesce on, computed the same way by the engine (jobs in memory)
// and by every store (the unique index that coalesces against jobs no window holds).

import { createHash } from 'node:crypto';

/** The coalescing key of a submission: null for no unique; for `-`, a digest of the payload (gearmand's "unique by payload"). */
export function coalescingKey(unique: string, payload: Buffer): string | null {
  if (unique === '') return null;
  // No other unique starts with NUL: the field itself ends at the first NUL on the wire.
  if (unique === '-') return `\0-${createHash('sha256').update(payload).digest('base64')}`;
  return unique;
}
