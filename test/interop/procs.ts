// Real client processes for the interop tests: spawn them, read their output line by line, wait for the
// line or engine event a test needs, and kill every one of them when the test ends.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../../src/core/engine.js';
import type { Owner } from '../helpers/events.js';

export const SCRIPTS = join(dirname(fileURLToPath(import.meta.url)), 'scripts');

export type { Owner } from '../helpers/events.js';

/** One JSON line printed by a script in scripts/. */
export interface ScriptEvent {
  event: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const DEFAULT_WAIT_MS = 10_000;

export class Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Complete stdout lines so far. */
  readonly lines: string[] = [];
  stdout = '';
  stderr = '';
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;
  #partial = '';
  #waiters: (() => void)[] = [];

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.stdout += chunk;
      const parts = (this.#partial + chunk).split('\n');
      this.#partial = parts.pop() ?? '';
      this.lines.push(...parts);
      this.#notify();
    });
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    // Writing to the stdin of a process that died must not crash the test runner.
    child.stdin?.on('error', () => undefined);
    this.exited = new Promise<Exit>((resolve) => {
      child.on('error', (err) => {
        this.stderr += `\nspawn failed: ${err.message}`;
        this.exit ??= { code: null, signal: null };
        this.#notify();
        resolve(this.exit);
      });
      child.on('close', (code, signal) => {
        if (this.#partial !== '') {
          this.lines.push(this.#partial);
          this.#partial = '';
        }
        this.exit ??= { code, signal };
        this.#notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.exit === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  describe(): string {
    return `${this.name} (pid ${this.pid}${this.exit ? `, exited ${JSON.stringify(this.exit)}` : ''})\n--- stdout:\n${this.stdout}--- stderr:\n${this.stderr}`;
  }

  /** The JSON events printed so far. */
  events(): ScriptEvent[] {
    const out: ScriptEvent[] = [];
    for (const l of this.lines) {
      if (!l.startsWith('{')) continue;
      const parsed: unknown = JSON.parse(l);
      if (isScriptEvent(parsed)) out.push(parsed);
    }
    return out;
  }

  /** Waits for the `n`-th JSON event (1-based) with this name and optional field values. */
  async event(name: string, fields: Record<string, unknown> = {}, timeoutMs = DEFAULT_WAIT_MS, n = 1): Promise<ScriptEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events().filter((e) => e.event === name && Object.entries(fields).every(([k, v]) => e[k] === v));
      if (found.length >= n) return found[n - 1]!;
      if (!this.alive) throw new Error(`${this.name} ended before printing event ${name} ${JSON.stringify(fields)}\n${this.describe()}`);
      await this.#changed(deadline - Date.now(), `event ${name} ${JSON.stringify(fields)}`);
    }
  }

  /** Waits for the process to end by itself. */
  async done(timeoutMs = DEFAULT_WAIT_MS): Promise<Exit> {
    const deadline = Date.now() + timeoutMs;
    while (this.exit === null) await this.#changed(deadline - Date.now(), 'the process to exit');
    return this.exit;
  }

  async #changed(timeoutMs: number, what: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} from ${this.describe()}`)), Math.max(timeoutMs, 0));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.alive) this.child.kill(signal);
  }
}

function isScriptEvent(v: unknown): v is ScriptEvent {
  return typeof v === 'object' && v !== null && typeof (v as { event?: unknown }).event === 'string';
}

/** Starts a process that the owner kills (SIGKILL) when it ends, whatever the outcome. */
export function start(owner: Owner, cmd: string, args: readonly string[], name = `${cmd} ${args.join(' ')}`): Proc {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], cwd: SCRIPTS });
  const proc = new Proc(name, child);
  owner.after(async () => {
    if (!proc.alive) return;
    proc.kill('SIGKILL');
    await proc.exited;
  });
  return proc;
}

/** Runs a command to its end and returns its output; fails (and kills it) when it takes too long. */
export async function run(
  owner: Owner,
  cmd: string,
  args: readonly string[],
  timeoutMs = DEFAULT_WAIT_MS,
): Promise<{ exit: Exit; stdout: string; stderr: string }> {
  const proc = start(owner, cmd, args);
  proc.child.stdin?.end();
  try {
    const exit = await proc.done(timeoutMs);
    return { exit, stdout: proc.stdout, stderr: proc.stderr };
  } finally {
    proc.kill();
  }
}

// ------------------------------------------------------------------ client programs present?

const checks = new Map<string, Promise<void>>();

async function onPath(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      await access(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

async function succeeds(cmd: string, args: readonly string[]): Promise<boolean> {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  return new Promise<boolean>((resolve) => {
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

function once(key: string, check: () => Promise<void>): Promise<void> {
  let p = checks.get(key);
  if (p === undefined) {
    p = check();
    checks.set(key, p);
  }
  return p;
}

async function requireCommand(cmd: string, pkg: string): Promise<void> {
  if (!(await onPath(cmd))) {
    throw new Error(`\`${cmd}\` is not installed: the interop tests need the Debian package ${pkg} (apt-get install ${pkg})`);
  }
}

/** The interop tests do not skip: a missing client is a failure that names the package to install. */
export const need = {
  gearmanTools: (): Promise<void> =>
    once('gearman-tools', async () => {
      await requireCommand('gearman', 'gearman-tools');
      await requireCommand('gearadmin', 'gearman-tools');
    }),
  php: (): Promise<void> =>
    once('php', async () => {
      await requireCommand('php', 'php-cli');
      if (!(await succeeds('php', ['-r', 'exit(extension_loaded("gearman") && class_exists("GearmanClient") ? 0 : 1);']))) {
        throw new Error('PHP has no gearman extension: the interop tests need the Debian package php-gearman (apt-get install php-gearman)');
      }
    }),
  phpPgsql: (): Promise<void> =>
    once('php-pgsql', async () => {
      await requireCommand('php', 'php-cli');
      if (!(await succeeds('php', ['-r', 'exit(extension_loaded("pdo_pgsql") ? 0 : 1);']))) {
        throw new Error('PHP has no pdo_pgsql extension: the test of docs/cluster.md needs the Debian package php-pgsql (apt-get install php-pgsql)');
      }
    }),
  python3: (): Promise<void> => once('python3', () => requireCommand('python3', 'python3')),
  perl: (): Promise<void> =>
    once('perl', async () => {
      await requireCommand('perl', 'perl');
      if (!(await succeeds('perl', ['-MGearman::Client', '-MGearman::Worker', '-MJSON::PP', '-e', '1']))) {
        throw new Error(
          'Perl cannot load Gearman::Client / Gearman::Worker: the interop tests need the Debian package libgearman-client-perl (apt-get install libgearman-client-perl)',
        );
      }
    }),
};

// ------------------------------------------------------------------ scripts in scripts/

export function phpWorker(owner: Owner, port: number, ...functions: string[]): Proc {
  return start(owner, 'php', ['worker.php', String(port), ...functions], `php worker ${functions.join(' ')}`);
}

export function phpClient(owner: Owner, port: number, ...args: string[]): Proc {
  const proc = start(owner, 'php', ['client.php', String(port), ...args], `php client ${args.join(' ')}`);
  proc.child.stdin?.end();
  return proc;
}

export function perlWorker(owner: Owner, port: number, ...functions: string[]): Proc {
  return start(owner, 'perl', ['worker.pl', String(port), ...functions], `perl worker ${functions.join(' ')}`);
}

export function perlClient(owner: Owner, port: number, ...args: string[]): Proc {
  const proc = start(owner, 'perl', ['client.pl', String(port), ...args], `perl client ${args.join(' ')}`);
  proc.child.stdin?.end();
  return proc;
}

/** The `gearman` tool against a Lazaret port. */
export function gearman(owner: Owner, port: number, ...args: string[]): Proc {
  return start(owner, 'gearman', ['-h', '127.0.0.1', '-p', String(port), ...args]);
}

/** One `gearadmin` call: each opens its own connection, like the real tool. */
export async function gearadmin(owner: Owner, port: number, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const { exit, stdout, stderr } = await run(owner, 'gearadmin', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  if (exit.code !== 0) throw new Error(`gearadmin ${args.join(' ')} exited ${JSON.stringify(exit)}\n${stdout}${stderr}`);
  return { stdout, stderr };
}

// ------------------------------------------------------------------ the server side

/** A worker connection registered for `fn` (the count a `status` line shows). */
export function workersOf(engine: Engine, fn: string): number {
  return engine.functions.get(fn)?.workers.size ?? 0;
}

/** A string field of a script's JSON event, asserted to be there. */
export function text(e: ScriptEvent, key: string): string {
  const v = e[key];
  assert.equal(typeof v, 'string', `${key} of ${JSON.stringify(e)}`);
  return v as string;
}
