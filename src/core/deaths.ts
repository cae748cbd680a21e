// Crash evidence for workers in any language: `lazaret supervise` reports how a copy died (pid, exit code
// or signal, the end of its stderr), and the engine puts that on the attempt the process's connection
// held. The report and the disconnect arrive in either order, within MATCH_WINDOW_MS of each other.

import type { Evidence } from '../storage/types.js';
import type { Worker } from './worker.js';

/** A supervised process died: what the server attaches to the attempt its connection held. */
export interface Death {
  supervisor: string;
  program: string;
  pid: number;
  code: number | null;
  signal: string | null;
  stderr: string | null;
  message: string | null;
}

/**
 * Whether a process is a copy run by a live supervisor. The engine asks before ending a disconnected
 * worker's attempts, so it can wait for the death report; the server passes its supervisor registry.
 */
export interface Supervision {
  supervises(pids: readonly (number | null)[]): boolean;
}

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
