// Crash evidence for workers in any language: `lazaret supervise` reports how a copy died (pid, exit code
// or signal, the end of its stderr), and the engine puts that on the attempt the process's connection
// held. The report and the disconnect arrive in either order, within MATCH_WINDOW_MS of each other.

import type { Evidence } from '../storage/types.js';
import type { Death } from './supervisors.js';
import type { Worker } from './worker.js';

/** How long a disconnect waits for its death report, and a death report for its disconnect. */
export const MATCH_WINDOW_MS = 5000;
const MAX_TEXT = 4096;

export function deathEvidence(d: Death): Evidence {
  const ev: Evidence = { pid: d.pid };
  if (d.signal !== null) ev.signal = d.signal;
  if (d.code !== null) ev.exitCode = d.code;
  if (d.stderr) ev.stderr = d.stderr.slice(-MAX_TEXT);
  if (d.message) ev.message = d.message.slice(0, MAX_TEXT);
  return ev;
}

/** `killed by SIGSEGV`, `exited with code 255`. */
export function describeDeath(d: Death): string {
  if (d.signal !== null) return `killed by ${d.signal}`;
  return d.code === null ? 'died' : `exited with code ${d.code}`;
}

/** The worker's connection belonged to that process, or to a child in its process group. */
export function ranIn(w: Worker, pid: number): boolean {
  return w.conn.pid === pid || w.conn.pgid === pid;
}
