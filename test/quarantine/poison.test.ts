// The reason Lazaret exists: one job that kills its worker (a real PHP worker process dying of
// SIGSEGV) must be stopped after exactly maxCrashes deliveries, with every attempt on record, while the
// healthy jobs around it all complete and the server keeps handing out work.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { QuarantineRow } from '../../src/storage/types.js';
import type { Job } from '../../src/core/job.js';
import { jobIdOf, jsonLine, REPO_ROOT, startChild, submitBg, type Child } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const PHP_WORKER = `${REPO_ROOT}test/quarantine/fixtures/poison-worker.php`;

function phpReady(): string | null {
  const probe = spawnSync('php', ['-r', 'echo (class_exists("GearmanWorker") && function_exists("posix_kill")) ? "yes" : "no";'], { encoding: 'utf8' });
  if (probe.error) return 'php is not installed';
  return probe.stdout === 'yes' ? null : 'php lacks the gearman or posix extension';
}

interface Death {
  pid: number;
  signal: NodeJS.Signals | null;
  code: number | null;
  /** Payloads the process had started when it died. */
  started: string[];
}

/** Keeps `size` worker processes running, as a supervisor would: each one that dies is replaced. */
class TestSupervisor {
  readonly deaths: Death[] = [];
  readonly live = new Set<Child>();
  readonly #start: () => Child;
  #stopping = false;
  #onDeath: (() => void)[] = [];

  constructor(t: TestContext, size: number, start: () => Child) {
    this.#start = start;
    for (let i = 0; i < size; i++) this.#spawn();
    t.after(() => this.stop());
  }

  #spawn(): void {
    const child = this.#start();
    this.live.add(child);
    void child.exited.then(({ code, signal }) => {
      this.live.delete(child);
      const started = child.lines
        .map(jsonLine)
        .filter((e) => e?.event === 'start')
        .map((e) => String(e!.payload));
      this.deaths.push({ pid: child.proc.pid!, signal, code, started });
      if (!this.#stopping) this.#spawn();
      const waiting = this.#onDeath;
      this.#onDeath = [];
      for (const f of waiting) f();
    });
  }

  /**
   * Resolves once n workers have crashed. The server may see a connection close before this process
   * hears of the child's exit, so a test waits for both.
   */
  async untilCrashes(n: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.crashes.length < n) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${this.crashes.length} of ${n} worker crashes seen`)), Math.max(0, deadline - Date.now()));
        this.#onDeath.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  stop(): void {
    this.#stopping = true;
    for (const c of this.live) c.proc.kill('SIGKILL');
  }

  /** Deaths that were not the test stopping the supervisor. */
  get crashes(): Death[] {
    return this.deaths.filter((d) => d.signal !== 'SIGKILL');
  }
}

test('a poison job among healthy ones: quarantined after exactly maxCrashes deliveries to real PHP workers that segfault', async (t) => {
  const missing = phpReady();
  assert.equal(missing, null, `${missing} (CI installs php-cli and php-gearman)`);
  const server = await serverFor(t, { policies: [{ match: '*', backoff: { base: 20, cap: 50, jitter: false } }] });
  const maxCrashes = server.engine.policies.for('resize').maxCrashes;
  assert.equal(maxCrashes, 3, 'the default crash budget');

  const completed = new Set<string>();
  server.engine.on('job:completed', (job: Job) => void completed.add(job.handle));
  const quarantined = waitEvent(server.engine, 'job:quarantined', () => true, 30_000);

  const workers = new TestSupervisor(t, 2, () =>
    // `ulimit -c 0`: the segfaults must not leave core files behind; exec keeps the pid.
    startChild(t, 'sh', ['-c', 'ulimit -c 0; exec php "$0" "$@"', PHP_WORKER, String(server.gearmanPort), 'resize']),
  );

  const client = await peerFor(t, server.gearmanPort);
  const poison = await submitBg(client, 'resize', 'poison', 'poison-1');
  const healthy: string[] = [];
  for (let i = 0; i < 20; i++) healthy.push(await submitBg(client, 'resize', `image-${i}`, `healthy-${i}`));

  const allHealthyDone = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`healthy jobs still not completed: ${healthy.filter((h) => !completed.has(h)).join(' ')}`)), 30_000);
    const check = (): void => {
      if (!healthy.every((h) => completed.has(h))) return;
      clearTimeout(timer);
      server.engine.off('job:completed', check);
      resolve();
    };
    server.engine.on('job:completed', check);
    check();
  });
  const [[entry]] = await Promise.all([quarantined, allHealthyDone]);
  await workers.untilCrashes(maxCrashes);

  assertPoisonEntry(entry, poison, maxCrashes, workers.crashes);
  assert.deepEqual([...completed].filter((h) => h !== poison).sort(), [...healthy].sort(), 'every healthy job completed');
  assert.equal(completed.has(poison), false);

  // The server still hands out work to the replacement workers.
  const after = waitEvent(server.engine, 'job:completed', (job) => job.unique === 'after-poison', 15_000);
  await submitBg(client, 'resize', 'still-working', 'after-poison');
  await after;
  assert.equal(workers.crashes.length, maxCrashes, 'only the poison job killed workers');
  assert.equal(server.engine.jobCount, 0, 'nothing left behind');

  const stored = await server.engine.quarantine.get(jobIdOf(poison));
  assert.deepEqual(
    stored.attempts.map((a) => a.outcome),
    ['crashed', 'crashed', 'crashed'],
  );
  assert.equal(stored.payload.toString(), 'poison');
});

function assertPoisonEntry(entry: QuarantineRow, poison: string, maxCrashes: number, crashes: Death[]): void {
  assert.equal(entry.handle, poison);
  assert.equal(entry.reason, 'max_crashes');
  assert.equal(entry.unique, 'poison-1');
  assert.equal(entry.attempts.length, maxCrashes, 'exactly maxCrashes deliveries');
  assert.equal(crashes.length, maxCrashes, 'exactly maxCrashes worker processes died');
  for (const d of crashes) {
    assert.equal(d.signal, 'SIGSEGV', `worker ${d.pid} died of SIGSEGV`);
    assert.deepEqual(d.started.slice(-1), ['poison'], `worker ${d.pid} died on the poison payload`);
  }
  entry.attempts.forEach((a, i) => {
    assert.equal(a.n, i + 1);
    assert.equal(a.outcome, 'crashed');
    assert.match(a.error ?? '', /disconnected while running the job/);
    assert.ok(a.endedAt !== null && a.endedAt >= a.startedAt);
  });
  // Each attempt names the process it killed (the PHP worker's SET_CLIENT_ID).
  assert.deepEqual(entry.attempts.map((a) => a.worker).sort(), crashes.map((d) => `php-poison-${d.pid}`).sort());
}
