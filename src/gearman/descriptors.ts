// How many connections the process can really hold: Node has no API for `ulimit -n`, so it is read from
// /proc/self/limits (Linux); elsewhere the configured limit is trusted.

import { readdirSync, readFileSync } from 'node:fs';

/** The soft "Max open files" limit from the text of /proc/self/limits, or null when unlimited or absent. */
export function parseOpenFilesLimit(limitsText: string): number | null {
  const m = /^Max open files\s+(\S+)/m.exec(limitsText);
  if (!m || m[1] === 'unlimited') return null;
  const n = Number(m[1]);
  return Number.isInteger(n) && n > 0 ? n : null;
}

export interface DescriptorBudget {
  /** The soft limit (`ulimit -n`). */
  limit: number;
  /** Descriptors open now (the store, the log, the listeners). */
  open: number;
}

/** The process's descriptor limit and use, or null where /proc is not available. */
export function readDescriptors(): DescriptorBudget | null {
  try {
    const limit = parseOpenFilesLimit(readFileSync('/proc/self/limits', 'utf8'));
    if (limit === null) return null;
    return { limit, open: readdirSync('/proc/self/fd').length };
  } catch {
    return null;
  }
}

/** The most Gearman connections that leave `reserve` descriptors free for everything else. */
export function connectionsAllowed(wanted: number, fds: DescriptorBudget | null, reserve: number): number {
  if (fds === null) return wanted;
  return Math.max(0, Math.min(wanted, fds.limit - fds.open - reserve));
}

/** Descriptors kept for the store, the logs and the files read at run time, out of the reserve. */
export const HTTP_RESERVE_MARGIN = 32;

/**
 * The most HTTP connections that fit beside `gearmanAllowed` Gearman connections: the HTTP port can be
 * flooded as well, and past the descriptor limit accept() fails on both ports and the store cannot open
 * a file, with nothing logged. Under a tight limit HTTP gets the reserve less a margin.
 */
export function httpConnectionsAllowed(wanted: number, fds: DescriptorBudget | null, gearmanAllowed: number): number {
  if (fds === null) return wanted;
  return Math.max(1, Math.min(wanted, fds.limit - fds.open - gearmanAllowed - HTTP_RESERVE_MARGIN));
}
