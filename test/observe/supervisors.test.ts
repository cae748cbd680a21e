import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/core/clock.js';
import { SupervisorRegistry, type ProgramReport, type SupervisorReport } from '../../src/observe/supervisors.js';

function program(name: string, patch: Partial<ProgramReport> = {}): ProgramReport {
  return { name, command: `php ${name}.php`, copies: 2, running: 2, restarts: 0, recycled: 0, flapping: false, lastExits: [], ...patch };
}

function report(id: string, programs: ProgramReport[], intervalMs = 1000): SupervisorReport {
  return { id, host: 'web-1', pid: 42, intervalMs, programs };
}

test('supervisors: listed by id, stale after three intervals of silence (by the injected clock), fresh again on report', () => {
  const clock = new ManualClock();
  const reg = new SupervisorRegistry(clock);
  assert.deepEqual(reg.checks(), [], 'nothing to check before any supervisor reported');
  reg.report(report('b', [program('mail')], 1000));
  reg.report(report('a', [program('resize')], 5000));
  assert.deepEqual(
    reg.list().map((s) => [s.id, s.stale, s.reportedAt]),
    [
      ['a', false, clock.now()],
      ['b', false, clock.now()],
    ],
  );
  assert.deepEqual(
    reg.checks().map((c) => c.state),
    ['ok'],
  );

  clock.advance(3000);
  assert.equal(reg.list().find((s) => s.id === 'b')!.stale, false, 'exactly three intervals is not yet stale');
  clock.advance(1);
  assert.deepEqual(
    reg.list().map((s) => s.stale),
    [false, true],
  );
  const [check] = reg.checks();
  assert.equal(check!.state, 'fail');
  assert.match(check!.reason, /supervisor b \(pid 42 on web-1\) not heard from for 3s/);

  reg.report(report('b', [program('mail')], 1000));
  assert.deepEqual(
    reg.list().map((s) => s.stale),
    [false, false],
  );
  assert.equal(reg.remove('b'), true);
  assert.equal(reg.remove('b'), false);
  assert.deepEqual(
    reg.list().map((s) => s.id),
    ['a'],
  );
});

test('supervisors: flapping() names each flapping program with its supervisor; checks() fail for it with the last exit', () => {
  const clock = new ManualClock();
  const reg = new SupervisorRegistry(clock);
  const at = new Date(clock.now()).toISOString();
  reg.report(
    report('a', [program('resize', { flapping: true, running: 1, restarts: 7, lastExits: [{ at, code: null, signal: 'SIGSEGV' }] }), program('mail')]),
  );
  reg.report(report('b', [program('resize')]));
  const flapping = reg.flapping();
  assert.deepEqual(
    flapping.map((f) => [f.supervisor.id, f.program.name]),
    [['a', 'resize']],
  );
  assert.deepEqual(reg.checks(), [
    {
      name: 'supervisor',
      function: 'resize',
      state: 'fail',
      reason: 'program resize under supervisor a is flapping: 1/2 running, 7 restarts, last exit signal SIGSEGV',
    },
  ]);
});
