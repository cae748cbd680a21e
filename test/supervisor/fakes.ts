// A spawner of fake children and a log that records lines, so the restart logic can be driven by a
// ManualClock: a test decides when each child exits and moves time itself.

import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { ChildExit, ChildHandle, Spawner } from '../../src/supervisor/child.js';
import { programDefaults, type ProgramConfig } from '../../src/supervisor/config.js';

export class FakeChild implements ChildHandle {
  readonly pid: number;
  readonly signals: NodeJS.Signals[] = [];
  readonly exited: Promise<ChildExit>;
  /** Exit on SIGTERM by itself (a well-behaved worker); false = only SIGKILL ends it. */
  obeysTerm = true;
  alive = true;
  #resolve!: (exit: ChildExit) => void;

  constructor(pid: number) {
    this.pid = pid;
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
  }

  signal(sig: NodeJS.Signals): void {
    this.signals.push(sig);
    if (sig === 'SIGKILL' || this.obeysTerm) this.exit({ code: null, signal: sig });
  }

  exit(exit: { code: number | null; signal: string | null }, stderr: string[] = []): void {
    if (!this.alive) return;
    this.alive = false;
    this.#resolve({ ...exit, stderr });
  }
}

export class FakeSpawner {
  readonly children: FakeChild[] = [];
  #pid = 1000;
  readonly spawn: Spawner = () => {
    const child = new FakeChild(++this.#pid);
    this.children.push(child);
    return child;
  };

  get live(): FakeChild[] {
    return this.children.filter((c) => c.alive);
  }

  get last(): FakeChild {
    const c = this.children[this.children.length - 1];
    if (!c) throw new Error('nothing spawned yet');
    return c;
  }
}

export interface LogLine {
  level: number;
  event?: string;
  msg: string;
  [key: string]: unknown;
}

export function recordingLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** Lets the promise callbacks of exits that just happened run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function program(patch: Partial<ProgramConfig> = {}): ProgramConfig {
  return { ...programDefaults('worker', ['worker']), backoff: { initialMs: 10, maxMs: 1000 }, stableAfterMs: 5000, ...patch };
}
