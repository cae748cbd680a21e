// The restart logic, driven by a ManualClock and fake children: every delay and signal is exact.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { ProgramRunner } from '../../src/supervisor/program.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { ProgramConfig } from '../../src/supervisor/config.js';
import { FakeSpawner, program, recordingLog, settle } from './fakes.js';

function runner(patch: Partial<ProgramConfig> = {}, random = () => 1) {
  const clock = new ManualClock();
  const spawner = new FakeSpawner();
  const { log, lines } = recordingLog();
  let changes = 0;
  const r = new ProgramRunner(program(patch), { clock, random, spawn: spawner.spawn, log, changed: () => changes++ });
  return { clock, spawner, lines, r, changes: () => changes };
}

/** Time until the waiting copy starts again. */
function waitLeft(r: ProgramRunner, clock: ManualClock, copy = 0): number {
  const next = r.status().instances[copy]!.nextStartAt;
  assert.notEqual(next, null, `copy ${copy} waits for a restart`);
  return Date.parse(next!) - clock.now();
}

test('a program that always dies is restarted forever, the delay doubling up to backoff.max', async () => {
  const { clock, spawner, r } = runner();
  r.start();
  const delays: number[] = [];
  for (let i = 0; i < 200; i++) {
    spawner.last.exit({ code: 1, signal: null });
    await settle();
    delays.push(waitLeft(r, clock));
    clock.advance(delays[delays.length - 1]!);
  }
  assert.deepEqual(delays.slice(0, 8), [10, 20, 40, 80, 160, 320, 640, 1000]);
  assert.ok(
    delays.slice(7).every((d) => d === 1000),
    'capped, never growing without bound',
  );
  assert.equal(spawner.children.length, 201, 'never gives up');
  assert.equal(r.status().restarts, 200);
  assert.equal(r.status().running, 1);
});

test('full jitter: the delay is random() times the ceiling', async () => {
  const { clock, spawner, r } = runner({}, () => 0.5);
  r.start();
  spawner.last.exit({ code: 1, signal: null });
  await settle();
  assert.equal(waitLeft(r, clock), 5);
});

test('flapping: three young deaths are logged as a warning with the stderr tail; a stable run ends it and resets the backoff', async () => {
  const { clock, spawner, lines, r } = runner({ flapping: { exits: 3, windowMs: 60_000 } });
  r.start();
  for (let i = 0; i < 3; i++) {
    assert.equal(r.status().flapping, false);
    spawner.last.exit({ code: null, signal: 'SIGSEGV' }, ['PHP Fatal error: segfault in libvips', `attempt ${i}`]);
    await settle();
    clock.advance(waitLeft(r, clock));
  }
  assert.equal(r.status().flapping, true);
  const flap = lines.filter((l) => l.event === 'flapping');
  assert.equal(flap.length, 1, 'logged once when it starts');
  assert.equal(flap[0]!.level, 40, 'as a warning');
  assert.equal(flap[0]!.program, 'worker');
  assert.equal(flap[0]!.signal, 'SIGSEGV');
  assert.deepEqual(flap[0]!.stderr, ['PHP Fatal error: segfault in libvips', 'attempt 2']);
  assert.deepEqual(
    r.status().lastExits.map((e) => e.signal),
    ['SIGSEGV', 'SIGSEGV', 'SIGSEGV'],
  );

  clock.advance(5000); // stableAfter: the copy started after the third death is still up
  assert.equal(r.status().flapping, false);
  assert.equal(lines.filter((l) => l.event === 'flapping_ended').length, 1);
  spawner.last.exit({ code: 1, signal: null });
  await settle();
  assert.equal(waitLeft(r, clock), 10, 'backoff starts over after a stable run');
  assert.equal(r.status().flapping, false, 'one death after a stable run is not flapping');
});

test('maxRuntime: a copy running too long gets SIGTERM, SIGKILL after the grace, and is replaced at once', async () => {
  const { clock, spawner, lines, r } = runner({ maxRuntimeMs: 60_000, stopGraceMs: 2000 });
  r.start();
  const hung = spawner.last;
  hung.obeysTerm = false;
  clock.advance(59_999);
  assert.deepEqual(hung.signals, []);
  clock.advance(1);
  assert.deepEqual(hung.signals, ['SIGTERM']);
  assert.equal(lines.find((l) => l.event === 'recycled')?.level, 40, 'logged as a warning');
  clock.advance(2000);
  assert.deepEqual(hung.signals, ['SIGTERM', 'SIGKILL']);
  await settle();
  assert.equal(spawner.children.length, 2, 'replaced without a backoff');
  const s = r.status();
  assert.equal(s.recycled, 1);
  assert.equal(s.restarts, 1);
  assert.equal(s.flapping, false);
  assert.deepEqual(
    s.lastExits.map((e) => e.signal),
    ['SIGKILL'],
  );

  const polite = spawner.last;
  clock.advance(60_000);
  assert.deepEqual(polite.signals, ['SIGTERM'], 'a copy that obeys SIGTERM gets no SIGKILL');
  await settle();
  clock.advance(5000);
  assert.deepEqual(polite.signals, ['SIGTERM']);
  assert.equal(r.status().recycled, 2);
});

test('stop: SIGTERM to every copy, SIGKILL to the ones still up after the grace, and nothing restarts', async () => {
  const { clock, spawner, r } = runner({ copies: 3, stopGraceMs: 1000 });
  r.start();
  spawner.children[0]!.exit({ code: 1, signal: null }); // waiting out its backoff when the stop comes
  await settle();
  spawner.children[2]!.obeysTerm = false;
  const stopped = r.stop();
  assert.deepEqual(spawner.children[1]!.signals, ['SIGTERM']);
  assert.deepEqual(spawner.children[2]!.signals, ['SIGTERM']);
  clock.advance(1000);
  assert.deepEqual(spawner.children[2]!.signals, ['SIGTERM', 'SIGKILL']);
  await stopped;
  clock.advance(60_000);
  assert.equal(spawner.children.length, 3, 'no copy started after the stop');
  assert.equal(r.status().running, 0);
});

function supervisor(copies: number) {
  const clock = new ManualClock();
  const spawner = new FakeSpawner();
  const { log, lines } = recordingLog();
  const config = {
    id: 'test',
    server: 'http://127.0.0.1:1',
    token: null,
    reportIntervalMs: 5000,
    stateDir: '.',
    settleMs: 500,
    logLevel: 'info',
    programs: [program({ copies })],
  };
  const s = new Supervisor(config, { clock, random: () => 1, spawn: spawner.spawn, log, host: 'h', pid: 1 });
  return { clock, spawner, lines, s };
}

/** Runs clock timers and promise callbacks until cond holds. */
async function drive(clock: ManualClock, cond: () => boolean, stepMs = 100): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) {
    await settle();
    clock.advance(stepMs);
  }
  assert.ok(cond(), 'condition reached');
}

test('rolling restart: one copy at a time, each new copy settling before the next is stopped', async () => {
  const { clock, spawner, s } = supervisor(3);
  s.start();
  const old = [...spawner.children];
  const rollout = s.rollingRestart();
  assert.equal(s.status().rollout.running, true);
  await settle();
  assert.deepEqual(
    old.map((c) => c.alive),
    [false, true, true],
    'only the first copy is stopped',
  );
  assert.equal(spawner.children.length, 4);
  clock.advance(499);
  await settle();
  assert.deepEqual(
    old.map((c) => c.alive),
    [false, true, true],
    'the second waits for the first to settle',
  );
  clock.advance(1);
  await settle();
  assert.deepEqual(
    old.map((c) => c.alive),
    [false, false, true],
  );
  await drive(clock, () => s.status().rollout.finished === 1);
  await rollout;
  assert.equal(s.status().rollout.lastResult, 'ok');
  assert.equal(spawner.live.length, 3);
  assert.ok(
    spawner.live.every((c) => !old.includes(c)),
    'every copy replaced',
  );
  assert.equal(s.status().programs[0]!.restarts, 0, 'a deploy is not a death');
});

test('rolling restart stops at a new copy that dies while settling; the old copies keep running', async () => {
  const { clock, spawner, lines, s } = supervisor(3);
  s.start();
  const old = [...spawner.children];
  const rollout = s.rollingRestart();
  await settle();
  spawner.last.exit({ code: 255, signal: null }, ['Parse error: syntax error in worker.php']);
  await settle();
  await rollout;
  assert.equal(s.status().rollout.lastResult, 'failed');
  assert.deepEqual(
    old.map((c) => c.alive),
    [false, true, true],
  );
  assert.ok(lines.some((l) => l.event === 'rollout_failed' && l.level === 50));
  clock.advance(1000);
  assert.equal(s.status().programs[0]!.running, 3, 'the broken copy is still restarted with backoff');
});

test('a copy that recycles itself (exit 75) is started again at once and is not flapping; an instant exit 75 is a failure', async () => {
  const { clock, spawner, lines, r } = runner({ flapping: { exits: 3, windowMs: 60_000 } });
  r.start();
  for (let i = 0; i < 5; i++) {
    clock.advance(2000);
    spawner.last.exit({ code: 75, signal: null });
    await settle();
    assert.equal(r.status().running, 1, 'replaced at once, no backoff');
  }
  assert.equal(spawner.children.length, 6);
  assert.equal(r.status().flapping, false);
  assert.equal(r.status().recycled, 5);
  assert.equal(lines.filter((l) => l.event === 'self_recycled').length, 5);

  spawner.last.exit({ code: 75, signal: null });
  await settle();
  assert.equal(r.status().running, 0, 'a copy that exits 75 at once waits for its backoff like any failure');
});

test('killStuck: a copy the server reports stuck for killStuckAfter gets SIGKILL and a fresh copy at once; its exit says why', async () => {
  const { spawner, lines, r } = runner({ copies: 2, killStuckAfterMs: 60_000, flapping: { exits: 1, windowMs: 60_000 } });
  r.start();
  const [a, b] = spawner.children;
  const report = (pid: number, stuckMs: number) => [{ pid, worker: `127.0.0.1:5000 pid ${pid}`, function: 'resize', handle: 'H:x:7', stuckMs }];

  r.killStuck(report(a!.pid, 59_999));
  r.killStuck(report(4242, 600_000)); // not a copy of this program
  assert.deepEqual([a!.signals, b!.signals], [[], []]);

  r.killStuck(report(a!.pid, 60_000));
  assert.deepEqual(a!.signals, ['SIGKILL']);
  await settle();
  assert.equal(spawner.children.length, 3, 'replaced at once, no backoff');
  assert.equal(r.status().running, 2);
  assert.equal(r.status().restarts, 1);
  assert.equal(r.status().flapping, false, 'a kill for a hang is not a young death');
  const exit = r.status().lastExits.at(-1)!;
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(exit.pid, a!.pid);
  assert.match(exit.message ?? '', /^killed by lazaret supervise: stuck in resize H:x:7 for 60 s after its timeout \(killStuckAfter 60 s\)$/);
  const logged = lines.find((l) => l.event === 'killed_stuck');
  assert.equal(logged?.childPid, a!.pid);
  assert.equal(logged?.handle, 'H:x:7');
});

test('killStuckAfter off: a stuck copy is left alone', async () => {
  const { spawner, r } = runner({ killStuckAfterMs: null });
  r.start();
  r.killStuck([{ pid: spawner.last.pid, worker: 'w', function: 'f', handle: 'H:x:1', stuckMs: 10 * 60_000 }]);
  assert.deepEqual(spawner.last.signals, []);
});
