// Shared steps for the quarantine tests: submitting and grabbing over a raw peer, crashing workers, and
// child processes whose output lines a test can wait on.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { TestContext } from 'node:test';
import type { RawPeer, Received } from '../helpers/gearman-client.js';
import { peerFor } from '../helpers/server.js';

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/** Backoff small enough that retries do not slow a test, without jitter so the order is known. */
export const FAST_BACKOFF = { type: 'fixed' as const, base: 5, cap: 5, jitter: false };

/** `H:prefix:123` -> 123 */
export function jobIdOf(handle: string): number {
  const id = Number(handle.slice(handle.lastIndexOf(':') + 1));
  if (!Number.isSafeInteger(id)) throw new Error(`not a Lazaret job handle: ${handle}`);
  return id;
}

/** Submits a background job and returns its handle once the server acknowledged it (after commit). */
export async function submitBg(client: RawPeer, fn: string, payload: string | Buffer, unique = ''): Promise<string> {
  const created = await client.request('SUBMIT_JOB_BG', [fn, unique, payload], 'JOB_CREATED');
  return created.text[0]!;
}

/**
 * One GRAB_JOB by a raw worker that already sent CAN_DO: resolves with the JOB_ASSIGN, sleeping
 * (PRE_SLEEP, then waiting for the NOOP) while nothing is runnable.
 */
export async function grab(worker: RawPeer, timeoutMs = 10_000): Promise<Received> {
  for (;;) {
    worker.send('GRAB_JOB');
    const r = await worker.next(undefined, timeoutMs);
    if (r.name === 'JOB_ASSIGN') return r;
    if (r.name !== 'NO_JOB') throw new Error(`expected JOB_ASSIGN or NO_JOB, got ${r.name} ${JSON.stringify(r.text)}`);
    worker.send('PRE_SLEEP');
    await worker.next('NOOP', timeoutMs);
  }
}

/** One GRAB_JOB that must find nothing. */
export async function grabNothing(worker: RawPeer): Promise<void> {
  worker.send('GRAB_JOB');
  const r = await worker.next();
  if (r.name !== 'NO_JOB') throw new Error(`expected NO_JOB, got ${r.name} ${JSON.stringify(r.text)}`);
}

/**
 * Proves the server sent this peer nothing since the last packet consumed: an ECHO round trip comes
 * back as the very next packet.
 */
export async function assertNothingElse(peer: RawPeer): Promise<void> {
  const r = await peer.request('ECHO_REQ', ['fence'], 'ECHO_RES');
  if (r.text[0] !== 'fence') throw new Error(`unexpected ECHO_RES ${JSON.stringify(r.text)}`);
}

/** A worker connection that may be killed (crashes the job it holds); closed at the end of the test. */
export async function crashingWorker(t: TestContext, port: number, fn: string, clientId?: string): Promise<RawPeer> {
  const w = await peerFor(t, port);
  if (clientId !== undefined) w.send('SET_CLIENT_ID', clientId);
  w.send('CAN_DO', fn);
  return w;
}

/**
 * Drops the connection without a word, as a dying worker process does. The server notices on its own
 * time: wait for the engine event (or log line) that follows.
 */
export function crash(peer: RawPeer): void {
  peer.socket.destroy();
}

// ------------------------------------------------------------------ child processes

export interface Child {
  readonly proc: ChildProcess;
  readonly lines: string[];
  stderr: string;
  /** Resolves with the exit code and signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line (already seen or future) that satisfies pred. */
  waitLine(pred: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
}

/**
 * Starts a process and follows its stdout line by line. It is killed (SIGKILL) when the test ends, if it
 * is still running.
 */
export function startChild(t: TestContext, command: string, args: string[], options: SpawnOptions = {}): Child {
  const proc = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  const lines: string[] = [];
  let waiters: (() => void)[] = [];
  let done = false;
  const notify = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    notify();
  });
  const child: Child = {
    proc,
    lines,
    stderr: '',
    exited: new Promise((resolve) => {
      // 'close', not 'exit': by then every line the process wrote has been read.
      proc.on('close', (code, signal) => {
        done = true;
        notify();
        resolve({ code, signal });
      });
    }),
    async waitLine(pred, what, timeoutMs = 15_000) {
      let from = 0;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (; from < lines.length; from++) if (pred(lines[from]!)) return lines[from]!;
        if (done) throw new Error(`${command} exited while waiting for ${what}; stderr: ${child.stderr.slice(-2000)}`);
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`timed out waiting for ${what}; stderr: ${child.stderr.slice(-2000)}`)),
            Math.max(0, deadline - Date.now()),
          );
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
  proc.stderr!.on('data', (chunk: Buffer) => {
    child.stderr += chunk.toString();
  });
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await child.exited;
    }
  });
  return child;
}

/** Parses a JSON line, or returns null for anything else. */
export function jsonLine(line: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
