// The sandbox pool: each job runs in a child process, so a job that kills its process (segfault, OOM
// kill, process.exit, uncaught exception) ends as one failed attempt with evidence (exit code, signal,
// the last lines of stderr), and the child is replaced. The worker itself lives on.

import { fork, type ChildProcess } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobContext } from './context.js';
import { ClientError, ClientErrorCode } from './errors.js';
import type { Evidence } from '../protocol/evidence.js';
import { backoffMs } from './pool.js';
import type { ChildMessage, ParentMessage } from './sandbox-messages.js';

export interface SandboxOptions {
  /** The handlers module: `export default { resize }` or named function exports. */
  module: string;
  /** Child processes, each running one job at a time. Default 2. */
  poolSize?: number;
  /** Replace a child after it ran this many jobs (contains leaks). Default: never. */
  maxJobsPerChild?: number;
  /** Node options for the children, e.g. ['--max-old-space-size=256']; a .ts module needs ['--import', 'tsx']. */
  execArgv?: string[];
  /** How much of a child's stderr is kept as evidence, bytes. Default 4096. */
  stderrBytes?: number;
  /** Longest wait for a child to load the module, ms. Default 30000. */
  startTimeoutMs?: number;
}

/** A job's child died: the evidence says how. */
export class SandboxCrash extends Error {
  readonly evidence: Evidence;
  constructor(evidence: Evidence) {
    super(evidence.message);
    this.name = 'SandboxCrash';
    this.evidence = evidence;
  }
}

interface Running {
  id: number;
  ctx: JobContext;
  resolve: (result: Buffer) => void;
  reject: (err: Error) => void;
}

interface Child {
  proc: ChildProcess;
  jobs: number;
  stderr: string;
  job: Running | null;
  ready: boolean;
}

const bytes = (b64: string): Buffer => Buffer.from(b64, 'base64');

export class SandboxPool {
  readonly #opts: Required<Omit<SandboxOptions, 'maxJobsPerChild'>> & { maxJobsPerChild: number };
  readonly #children = new Set<Child>();
  readonly #idle: Child[] = [];
  readonly #waiting: ((child: Child) => void)[] = [];
  #nextId = 1;
  #startFailures = 0;
  #closing = false;
  /** Children that died while running a job. */
  crashes = 0;

  constructor(opts: SandboxOptions) {
    const here = fileURLToPath(import.meta.url);
    const fromSource = here.endsWith('.ts');
    this.#opts = {
      module: resolvePath(opts.module),
      poolSize: opts.poolSize ?? 2,
      maxJobsPerChild: opts.maxJobsPerChild ?? Infinity,
      // Run from src/ (tsx), the child entry is TypeScript too and needs the same loader.
      execArgv: opts.execArgv ?? (fromSource ? ['--import', 'tsx'] : []),
      stderrBytes: opts.stderrBytes ?? 4096,
      startTimeoutMs: opts.startTimeoutMs ?? 30_000,
    };
  }

  /** Starts the children; resolves with the function names the module exports. */
  async start(): Promise<string[]> {
    const first = await Promise.all(Array.from({ length: this.#opts.poolSize }, () => this.#spawn()));
    return first[0] ?? [];
  }

  run(ctx: JobContext): Promise<Buffer> {
    return new Promise<Child>((resolve, reject) => {
      const child = this.#idle.pop();
      if (child) return resolve(child);
      // Children that cannot start (a module that fails to load) must not hold the job forever.
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(take), 1);
        reject(new ClientError(ClientErrorCode.TIMEOUT, `no sandbox child became free within ${this.#opts.startTimeoutMs} ms (${this.#children.size} alive)`));
      }, this.#opts.startTimeoutMs);
      const take = (c: Child): void => {
        clearTimeout(timer);
        resolve(c);
      };
      this.#waiting.push(take);
    }).then(
      (child) =>
        new Promise<Buffer>((resolve, reject) => {
          const job: Running = { id: this.#nextId++, ctx, resolve, reject };
          child.job = job;
          child.jobs++;
          const abort = (): void => void this.#send(child, { type: 'abort', id: job.id });
          ctx.signal.addEventListener('abort', abort, { once: true });
          const done = (): void => ctx.signal.removeEventListener('abort', abort);
          job.resolve = (r) => (done(), resolve(r));
          job.reject = (e) => (done(), reject(e));
          this.#send(child, { type: 'job', id: job.id, fn: ctx.fn, handle: ctx.handle, unique: ctx.unique, payload: ctx.payload.toString('base64') });
        }),
    );
  }

  /** Stops every child (they exit when the IPC channel closes), SIGKILL after graceMs. */
  async close(graceMs = 2000): Promise<void> {
    this.#closing = true;
    const exits = [...this.#children].map((c) => this.#retire(c, graceMs));
    await Promise.all(exits);
  }

  #spawn(): Promise<string[]> {
    const entry = fileURLToPath(new URL(`./sandbox-child${fileURLToPath(import.meta.url).endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
    const proc = fork(entry, [this.#opts.module], { execArgv: this.#opts.execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    const child: Child = { proc, jobs: 0, stderr: '', job: null, ready: false };
    this.#children.add(child);
    proc.stderr!.on('data', (chunk: Buffer) => {
      // Passed through so the operator's logs keep it, and kept as evidence should the child die.
      process.stderr.write(chunk);
      child.stderr = (child.stderr + chunk.toString()).slice(-this.#opts.stderrBytes);
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new ClientError(ClientErrorCode.TIMEOUT, `sandbox child for ${this.#opts.module} did not start within ${this.#opts.startTimeoutMs} ms`));
      }, this.#opts.startTimeoutMs);
      proc.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          child.ready = true;
          this.#startFailures = 0;
          this.#release(child);
          resolve(m.functions);
        } else this.#onMessage(child, m);
      });
      onExit(proc, (code, signal) => {
        clearTimeout(timer);
        this.#children.delete(child);
        const i = this.#idle.indexOf(child);
        if (i >= 0) this.#idle.splice(i, 1);
        if (!child.ready) {
          this.#startFailures++;
          reject(
            new ClientError(
              ClientErrorCode.INVALID_ARGUMENT,
              `sandbox child could not load ${this.#opts.module} (${describeExit(code, signal)}): ${child.stderr.trim().split('\n').slice(-5).join(' | ')}`,
              { hint: 'a TypeScript module needs sandbox.execArgv: ["--import", "tsx"]' },
            ),
          );
        }
        const job = child.job;
        if (job) {
          this.crashes++;
          child.job = null;
          job.reject(new SandboxCrash(evidenceOf(proc.pid, code, signal, child.stderr)));
        }
        if (!this.#closing) this.#replace();
      });
    });
  }

  #replace(): void {
    // A module that cannot even load would otherwise be forked in a tight loop.
    const delay = this.#startFailures === 0 ? 0 : backoffMs(this.#startFailures, { baseMs: 200, capMs: 10_000 });
    setTimeout(() => {
      if (!this.#closing) this.#spawn().catch((err: Error) => process.stderr.write(`lazaret sandbox: ${err.message}\n`));
    }, delay).unref();
  }

  #onMessage(child: Child, m: ChildMessage): void {
    const job = child.job;
    if (!job || m.type === 'ready' || m.id !== job.id) return;
    switch (m.type) {
      case 'progress':
        return job.ctx.progress(m.numerator, m.denominator);
      case 'data':
        return job.ctx.data(bytes(m.data));
      case 'warning':
        return job.ctx.warning(bytes(m.data));
      case 'done':
      case 'error':
        child.job = null;
        if (m.type === 'done') job.resolve(bytes(m.result));
        else job.reject(Object.assign(new Error(m.message), { name: m.errorClass }));
        // A retired child's exit brings its replacement (the close handler).
        if (child.jobs >= this.#opts.maxJobsPerChild) void this.#retire(child, 2000);
        else this.#release(child);
    }
  }

  #release(child: Child): void {
    const next = this.#waiting.shift();
    if (next) next(child);
    else this.#idle.push(child);
  }

  #send(child: Child, m: ParentMessage): void {
    if (child.proc.connected) child.proc.send(m);
  }

  #retire(child: Child, graceMs: number): Promise<void> {
    const i = this.#idle.indexOf(child);
    if (i >= 0) this.#idle.splice(i, 1);
    const proc = child.proc;
    if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      proc.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (proc.connected) proc.disconnect();
      else proc.kill('SIGTERM');
    });
  }
}

/**
 * Calls back once the child has exited and its stderr has been read to the end, or shortly after the exit
 * when something else (a grandchild such as tsx's esbuild service) keeps the pipe open.
 */
function onExit(proc: ChildProcess, fn: (code: number | null, signal: NodeJS.Signals | null) => void): void {
  proc.once('exit', (code, signal) => {
    let called = false;
    const call = (): void => {
      if (called) return;
      called = true;
      clearTimeout(timer);
      fn(code, signal);
    };
    const timer = setTimeout(call, 200);
    if (!proc.stderr || proc.stderr.readableEnded) call();
    else proc.stderr.once('end', call);
  });
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

function evidenceOf(pid: number | undefined, code: number | null, signal: NodeJS.Signals | null, stderr: string): Evidence {
  const ev: Evidence = { errorClass: 'SandboxChildDied', message: `the sandbox child (pid ${pid}) running the job died: ${describeExit(code, signal)}` };
  if (code !== null) ev.exitCode = code;
  if (signal) ev.signal = signal;
  if (stderr) ev.stderr = stderr;
  return ev;
}
