// The supervisor's own status, for `lazaret supervise status` and `restart`, without opening a port:
// each supervisor keeps <stateDir>/<id>.json up to date (written to a temporary file, then renamed, so
// a reader never sees half of it) and removes it when it stops.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSameSupervisor, OWN_START_TIME } from './identity.js';
import type { SupervisorStatus } from './supervisor.js';

export function stateFileName(id: string): string {
  return `${id.replace(/[^A-Za-z0-9_.@+-]/g, '_')}.json`;
}

export class StateFile {
  readonly path: string;
  readonly #dir: string;
  #scheduled = false;
  #removed = false;

  constructor(dir: string, id: string) {
    this.#dir = dir;
    this.path = join(dir, stateFileName(id));
    mkdirSync(dir, { recursive: true });
  }

  /** Writes the status soon: changes that come together (a rollout step) are written once. */
  schedule(status: () => SupervisorStatus): void {
    if (this.#scheduled || this.#removed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#removed) this.write(status());
    });
  }

  // Synchronous: a few KiB, and the file must be complete before the supervisor exits.
  write(status: SupervisorStatus): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    // processStartTime lets `supervise restart` tell this process from a later one given the same pid.
    writeFileSync(tmp, `${JSON.stringify({ ...status, processStartTime: OWN_START_TIME }, null, 2)}\n`);
    renameSync(tmp, this.path);
  }

  /** For good: a write scheduled before the supervisor stopped must not bring the file back. */
  remove(): void {
    this.#removed = true;
    rmSync(this.path, { force: true });
  }

  get dir(): string {
    return this.#dir;
  }
}

export interface FoundState {
  file: string;
  status: SupervisorStatus;
  /**
   * Whether the supervisor that wrote it still runs: its pid is alive and is still that process (same
   * start time, or at least a `supervise` command line). A dead one left its file behind (killed with -9).
   */
  alive: boolean;
}

export function readStates(dir: string): FoundState[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const found: FoundState[] = [];
  for (const name of names.sort()) {
    const file = join(dir, name);
    try {
      const { processStartTime, ...status } = JSON.parse(readFileSync(file, 'utf8')) as SupervisorStatus & { processStartTime?: unknown };
      found.push({ file, status, alive: isSameSupervisor(status.pid, processStartTime) && processAlive(status.pid) });
    } catch {
      // Removed between listing and reading, or not ours.
    }
  }
  return found;
}

export function processAlive(pid: number): boolean {
  // kill(0 or a negative pid) would test a whole process group, not one process.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
