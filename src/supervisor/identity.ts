// Is the process a state file names still that supervisor? A state file outlives a supervisor killed
// with -9, and its pid may since belong to anything: `supervise restart` must not SIGHUP (which ends
// most programs) whatever now has that number. The supervisor records its own start time as the
// kernel counts it (/proc/PID/stat, field 22); a process with the same pid and the same start time is
// the same process. Where /proc is missing, the command line must at least be a `lazaret supervise`.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** pid 0 and negative pids address process groups, pid 1 is init: never a supervisor's. */
export function plausiblePid(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 1;
}

/** The process's start time in clock ticks since boot, as text; null without /proc or the process. */
export function processStartTime(pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return null;
    }
  }
}

export const OWN_START_TIME = processStartTime('self');

/** Whether `pid` is the supervisor that wrote a state file recording `startTime`. */
export function isSameSupervisor(pid: unknown, startTime: unknown): boolean {
  if (!plausiblePid(pid)) return false;
  const now = processStartTime(pid);
  if (typeof startTime === 'string' && now !== null) return now === startTime;
  const command = commandLine(pid);
  return command !== null && /\bsupervise\b/.test(command);
}
