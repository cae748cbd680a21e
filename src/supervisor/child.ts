// One running copy of a program: a real child process in its own process group (so a `sh -c` wrapper
// and anything the worker forks are signalled together and none is left behind), stdout passed through,
// stderr passed through line by line while its tail is kept as evidence.

import { spawn } from 'node:child_process';
import type { ProgramConfig } from './config.js';
import { inheritedEnv } from './env.js';
import { LineTail } from './tail.js';

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** The last lines of stderr (and the spawn error, if it could not start). */
  stderr: string[];
}

export interface ChildHandle {
  /** null when the program could not be started at all. */
  readonly pid: number | null;
  signal(sig: NodeJS.Signals): void;
  readonly exited: Promise<ChildExit>;
}

export type Spawner = (program: ProgramConfig) => ChildHandle;

/** After the process exits, how long to wait for the rest of its stderr (a grandchild may hold it open). */
const DRAIN_MS = 200;

export function processSpawner(opts: { env: NodeJS.ProcessEnv; writeErr: (line: string) => void }): Spawner {
  return (program) => {
    const [cmd, args] = typeof program.command === 'string' ? ['/bin/sh', ['-c', program.command]] : [program.command[0]!, program.command.slice(1)];
    const child = spawn(cmd, args, {
      cwd: program.cwd ?? undefined,
      env: { ...inheritedEnv(opts.env), ...program.env },
      stdio: ['ignore', 'inherit', 'pipe'],
      detached: true,
    });
    const tail = new LineTail();
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of tail.push(chunk)) opts.writeErr(`${line}\n`);
    });
    const exited = new Promise<ChildExit>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: string | null): void => {
        if (done) return;
        done = true;
        const last = tail.end();
        if (last !== null) opts.writeErr(`${last}\n`);
        resolve({ code, signal, stderr: tail.lines() });
      };
      child.on('error', (err) => {
        tail.push(`cannot start ${cmd}: ${err.message}\n`);
        // A spawn failure emits no exit; one after start (a failed kill) does.
        if (child.pid === undefined) finish(null, null);
      });
      child.on('exit', (code, signal) => {
        const timer = setTimeout(() => finish(code, signal), DRAIN_MS);
        child.on('close', () => {
          clearTimeout(timer);
          finish(code, signal);
        });
      });
    });
    return {
      pid: child.pid ?? null,
      exited,
      signal(sig) {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // The group is gone (or the program made itself a new one): signal the process itself.
          child.kill(sig);
        }
      },
    };
  };
}
