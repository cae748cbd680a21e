// Real `lazaret supervise` processes (the built CLI, dist/cli/main.js) for the end-to-end tests: their
// pino lines carry an `event` field a test waits on; every one is stopped when its test ends, and so
// is every copy it started, whatever the outcome.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { TestContext } from 'node:test';
import { Proc } from '../interop/procs.js';
import type { TestServer } from '../helpers/server.js';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(REPO_ROOT, 'dist/cli/main.js');

function cliEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.LAZARET_URL;
  delete env.LAZARET_TOKEN;
  return env;
}

function requireBuild(): void {
  assert.ok(existsSync(MAIN), `${MAIN} is missing: run \`npm run build\` before the supervisor tests`);
}

/** Supervisors by working directory: a directory is removed only after they stopped writing to it. */
const running = new Map<string, Proc[]>();

export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'laz-supervise-'));
  t.after(async () => {
    for (const proc of running.get(dir) ?? []) await stop(proc);
    running.delete(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** SIGTERM, SIGKILL if that did not do within 5 s, and SIGKILL to every copy's process group. */
async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) {
    const exited = once(proc.child, 'exit');
    proc.child.kill('SIGTERM');
    await Promise.race([exited, delay(5000)]);
    proc.child.kill('SIGKILL');
  }
  for (const pid of childPids(proc)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone, as it should be
    }
  }
}

/** A pid that no longer exists (or is a zombie waiting for init, which is as dead as it gets). */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Starts `lazaret supervise ARGS` in `cwd`; the test stops it (and every copy it spawned) at its end. */
export function supervise(t: TestContext, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  requireBuild();
  const child = spawn(process.execPath, [MAIN, 'supervise', ...args], { cwd, env: { ...cliEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new Proc(`lazaret supervise ${args.join(' ')}`, child);
  running.set(cwd, [...(running.get(cwd) ?? []), proc]);
  t.after(() => stop(proc));
  return proc;
}

/** Every pid the supervisor reported starting. */
export function childPids(proc: Proc): number[] {
  return proc
    .events()
    .filter((e) => e.event === 'spawned')
    .map((e) => Number(e.childPid));
}

/** One `lazaret ARGS` run to its end. */
export function lazaret(cwd: string, args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  requireBuild();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lazaret ${args.join(' ')} did not finish within ${timeoutMs} ms: ${stdout}${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ReportedProgram {
  name: string;
  command: string;
  copies: number;
  running: number;
  restarts: number;
  recycled: number;
  flapping: boolean;
  lastExits: { at: string; code: number | null; signal: string | null }[];
}

export interface Reported {
  id: string;
  host: string;
  pid: number;
  stale: boolean;
  programs: ReportedProgram[];
}

export async function reported(server: TestServer): Promise<Reported[]> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}/api/supervisors`);
  return ((await res.json()) as { supervisors: Reported[] }).supervisors;
}
