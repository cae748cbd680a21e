// The vocabulary every layer shares (docs/architecture.md, "Vocabulary"): declared once here, as arrays
// for validation, schemas and menus, and as types derived from them. Imports only the evidence shape,
// so storage, core, the doors and the dashboard may all import it.

export type { Evidence } from './protocol/evidence.js';

/** In the order they run; a job's `priority` is the index: 0 = high, 1 = normal, 2 = low. */
export const PRIORITY_NAMES = ['high', 'normal', 'low'] as const;
export type PriorityName = (typeof PRIORITY_NAMES)[number];
export type Priority = 0 | 1 | 2;

/**
 * How an attempt ended. `returned`: given back to its queue without being charged to the job (the
 * server shut down under it, or its worker disconnected before starting it); it is stored so that a
 * restart does not count it as a crash.
 */
export const ATTEMPT_OUTCOMES = ['completed', 'failed', 'crashed', 'timed_out', 'cancelled', 'returned'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Why a job is in quarantine (docs/quarantine.md). */
export const QUARANTINE_REASONS = ['max_attempts', 'max_crashes', 'timed_out', 'expired', 'cancelled'] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];
