// `lazaret supervise` as an operator runs it: a real process supervising real programs, reporting to a
// real Lazaret server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer } from '../helpers/server.js';
import { childPids, gone, lazaret, reported, supervise, tempDir } from './helpers.js';
import { eventually } from '../helpers/wait.js';

test('a program that exits at once is restarted with growing delays, never gives up, and is reported as flapping', async (t) => {
  const server = await startTestServer({ httpPort: 0 });
  t.after(() => server.dispose());
  const dir = await tempDir(t);
  const sup = supervise(t, dir, [
    '--name',
    'crasher',
    '--id',
    'crash-test',
    '--server',
    `http://127.0.0.1:${server.httpPort}`,
    '--backoff-initial',
    '5ms',
    '--backoff-max',
    '80ms',
    '--report-interval',
    '200ms',
    '--',
    'sh',
    '-c',
    'echo "dying on purpose" >&2; exit 3',
  ]);

  await sup.event('exited', {}, 15_000, 25);
  const exits = sup.events().filter((e) => e.event === 'exited');
  assert.deepEqual(
    exits.slice(0, 6).map((e) => e.ceilingMs),
    [5, 10, 20, 40, 80, 80],
    'the ceiling doubles up to --backoff-max',
  );
  for (const e of exits) {
    assert.equal(e.code, 3);
    assert.ok(Number(e.delayMs) >= 0 && Number(e.delayMs) <= Number(e.ceilingMs), `delay ${e.delayMs} under its ceiling ${e.ceilingMs}`);
  }
  assert.ok(sup.alive, 'still supervising after 25 deaths');

  const flapping = sup.events().filter((e) => e.event === 'flapping');
  assert.equal(flapping.length, 1, 'flapping is logged once, when it starts');
  assert.equal(flapping[0]!.program, 'crasher');
  assert.equal(flapping[0]!.level, 40);
  assert.equal(flapping[0]!.code, 3);
  assert.deepEqual(flapping[0]!.stderr, ['dying on purpose']);
  assert.match(sup.stderr, /dying on purpose/, 'the child stderr is passed through');

  const [s] = await eventually(async () => {
    const list = await reported(server);
    return list[0]?.programs[0]?.flapping && list[0].programs[0].restarts >= 25 ? list : undefined;
  }, 'the server to hear of 25 restarts and flapping');
  assert.equal(s!.id, 'crash-test');
  assert.equal(s!.pid, sup.pid);
  assert.equal(s!.stale, false);
  const p = s!.programs[0]!;
  assert.equal(p.name, 'crasher');
  assert.equal(p.command, `sh -c 'echo "dying on purpose" >&2; exit 3'`);
  assert.equal(p.copies, 1);
  assert.ok(p.lastExits.length > 0 && p.lastExits.every((e) => e.code === 3 && e.signal === null));
  assert.deepEqual(
    server.supervisors.flapping().map((f) => f.program.name),
    ['crasher'],
  );
  assert.deepEqual(
    server.supervisors.checks().map((c) => [c.state, c.function]),
    [['fail', 'crasher']],
  );
});

test('SIGTERM stops every copy and what they forked (SIGKILL for the one ignoring SIGTERM), exits 0, deregisters and leaves no orphan', async (t) => {
  const server = await startTestServer({ httpPort: 0 });
  t.after(() => server.dispose());
  const dir = await tempDir(t);
  const kid = (name: string): string => `sleep 300 & echo "{\\"event\\":\\"kid\\",\\"program\\":\\"${name}\\",\\"pid\\":$!}"; wait`;
  await writeFile(
    join(dir, 'supervise.json'),
    JSON.stringify({
      id: 'stop-test',
      server: `http://127.0.0.1:${server.httpPort}`,
      programs: [
        { name: 'polite', command: kid('polite'), copies: 2, stopGraceMs: '20s' },
        // Ignores SIGTERM, and so does its sleep (ignored signals are inherited).
        { name: 'stubborn', command: ['sh', '-c', `trap "" TERM; ${kid('stubborn')}`], stopGraceMs: 300 },
      ],
    }),
  );
  const sup = supervise(t, dir, ['--config', 'supervise.json']);
  await sup.event('kid', {}, 15_000, 3);
  await eventually(
    async () => ((await reported(server))[0]?.programs.every((p) => p.running === p.copies) ? true : undefined),
    'the report of 3 running copies',
  );
  const pids = [
    ...childPids(sup),
    ...sup
      .events()
      .filter((e) => e.event === 'kid')
      .map((e) => Number(e.pid)),
  ];
  assert.equal(pids.length, 6);
  assert.ok(pids.every((pid) => !gone(pid)));

  sup.kill('SIGTERM');
  assert.deepEqual(await sup.done(15_000), { code: 0, signal: null });
  assert.ok(pids.every(gone), 'every copy and every process it forked is gone');
  const killed = sup.events().filter((e) => e.event === 'killed');
  assert.deepEqual(
    killed.map((e) => e.program),
    ['stubborn'],
    'only the copy that ignored SIGTERM needed SIGKILL',
  );
  assert.deepEqual(await reported(server), [], 'a supervisor that stops on purpose deregisters instead of going stale');
  const status = await lazaret(dir, ['supervise', 'status', '--json']);
  assert.equal(status.code, 1, 'no supervisor runs any more');
  assert.deepEqual(JSON.parse(status.stdout), [], 'the state file was removed');
});

test('supervise restart: a rolling restart replaces the copies one at a time, each settling first; status shows the new pids', async (t) => {
  const dir = await tempDir(t);
  // No server runs at this address: reporting fails, is logged once, and changes nothing else.
  const sup = supervise(t, dir, ['--copies', '3', '--settle', '150ms', '--stop-grace', '5s', '--server', 'http://127.0.0.1:9', '--', 'sleep', '300']);
  await sup.event('spawned', {}, 15_000, 3);
  const before = childPids(sup);

  const table = await lazaret(dir, ['supervise', 'status']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^supervisor \S+:sleep \(pid \d+ on .*reporting to http:\/\/127\.0\.0\.1:9\)$/m);
  assert.match(table.stdout, /PROGRAM\s+COPY\s+PID\s+UPTIME\s+RESTARTS\s+RECYCLED\s+FLAPPING\s+LAST EXIT/);
  for (const pid of before) assert.match(table.stdout, new RegExp(`^sleep\\s+\\d\\s+${pid}\\s+\\d+s\\s+0\\s+0\\s+no\\s+-$`, 'm'));

  const restart = await lazaret(dir, ['supervise', 'restart']);
  assert.equal(restart.code, 0, restart.stdout + restart.stderr);
  assert.match(restart.stdout, /rolling restart finished, every copy replaced/);

  const steps = sup.events().filter((e) => (e.event === 'stopped' || e.event === 'spawned') && Number(e.time) >= 0);
  const rollout = steps.slice(3).map((e) => `${e.event}:${e.copy}`);
  assert.deepEqual(rollout, ['stopped:0', 'spawned:0', 'stopped:1', 'spawned:1', 'stopped:2', 'spawned:2'], 'one copy at a time');
  const at = (event: string, copy: number): number => Number(steps.slice(3).find((e) => e.event === event && e.copy === copy)!.time);
  assert.ok(at('stopped', 1) - at('spawned', 0) >= 150, 'the next copy waits for the new one to settle');
  assert.ok(at('stopped', 2) - at('spawned', 1) >= 150);
  assert.ok(before.every(gone), 'the old copies are gone');

  const status = await lazaret(dir, ['supervise', 'status', '--json']);
  assert.equal(status.code, 0);
  const [s] = JSON.parse(status.stdout) as {
    alive: boolean;
    rollout: { running: boolean; finished: number; lastResult: string; lastFinishedAt: string };
    programs: { restarts: number; instances: { pid: number }[] }[];
  }[];
  assert.equal(s!.alive, true);
  assert.deepEqual(
    { ...s!.rollout, lastFinishedAt: typeof s!.rollout.lastFinishedAt },
    { running: false, finished: 1, lastResult: 'ok', lastFinishedAt: 'string' },
  );
  const now = s!.programs[0]!.instances.map((i) => i.pid);
  assert.deepEqual(now, childPids(sup).slice(3));
  assert.ok(now.every((pid) => !before.includes(pid) && !gone(pid)));
  assert.equal(s!.programs[0]!.restarts, 0, 'a deploy is not counted as deaths');
  assert.equal(sup.events().filter((e) => e.event === 'report_failed').length, 1, 'an unreachable server is logged once');
});

test('maxRuntime: a copy that runs too long is recycled (SIGTERM, SIGKILL after the grace), counted and reported', async (t) => {
  const server = await startTestServer({ httpPort: 0 });
  t.after(() => server.dispose());
  const dir = await tempDir(t);
  const sup = supervise(t, dir, [
    '--name',
    'leaky',
    '--server',
    `http://127.0.0.1:${server.httpPort}`,
    '--max-runtime',
    '300ms',
    '--stop-grace',
    '200ms',
    '--report-interval',
    '200ms',
    '--',
    'sh',
    '-c',
    'trap "" TERM; exec sleep 300',
  ]);
  await sup.event('recycled', {}, 15_000, 2);
  const recycled = sup.events().filter((e) => e.event === 'recycled');
  assert.equal(recycled[0]!.level, 40, 'logged as a warning');
  assert.equal(recycled[0]!.maxRuntimeMs, 300);
  assert.match(String(recycled[0]!.msg), /ran longer than maxRuntime 300 ms/);
  await sup.event('killed', {}, 15_000);
  const first = childPids(sup)[0]!;
  await eventually(() => (gone(first) ? true : undefined), `the recycled copy ${first} to be gone`);

  const [p] = await eventually(async () => {
    const programs = (await reported(server))[0]?.programs;
    return programs?.[0] && programs[0].recycled >= 2 && programs[0].restarts >= 2 ? programs : undefined;
  }, 'the server to hear of 2 recycled copies');
  assert.equal(p!.name, 'leaky');
  assert.equal(p!.flapping, false, 'recycling is not flapping');
  assert.equal(p!.lastExits[0]!.signal, 'SIGKILL');
});

test('a supervisor killed with -9 leaves its state file; status says so, and its successor names the copies still running', async (t) => {
  const dir = await tempDir(t);
  const args = ['--id', 'kill9', '--server', 'http://127.0.0.1:9', '--', 'sleep', '300'];
  const first = supervise(t, dir, args);
  await first.event('spawned', {}, 15_000);
  const [orphan] = childPids(first);
  // 'exit', not the end of its output: the orphan still holds the stdout it inherited.
  const killed = once(first.child, 'exit');
  first.kill('SIGKILL');
  await killed;

  const status = await lazaret(dir, ['supervise', 'status']);
  assert.equal(status.code, 1);
  assert.match(status.stdout, /supervisor kill9 \(pid \d+\) is NOT running: it was killed without stopping its programs/);

  const second = supervise(t, dir, args);
  const leftovers = await second.event('leftovers', {}, 15_000);
  assert.deepEqual(leftovers.copies, [{ program: 'sleep', pid: orphan }]);
  assert.equal(leftovers.level, 40);
});
