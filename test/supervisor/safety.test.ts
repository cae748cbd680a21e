// The supervisor's smaller doors: a stale state file must not make `supervise restart` signal whatever
// process now has the pid it names, and supervised programs do not inherit Lazaret's tokens.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { processStartTime } from '../../src/supervisor/identity.js';
import { readStates } from '../../src/supervisor/state-file.js';
import { gone, lazaret, supervise, tempDir } from './helpers.js';
import { eventually } from '../helpers/wait.js';

function staleState(dir: string, id: string, pid: number, extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  const status = {
    id,
    host: 'h',
    pid,
    server: 'http://127.0.0.1:9',
    startedAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    stopping: false,
    rollout: { running: false, finished: 0, lastResult: null, lastFinishedAt: null },
    programs: [],
    ...extra,
  };
  writeFileSync(join(dir, `${id}.json`), JSON.stringify(status));
}

test('supervise restart does not SIGHUP a live unrelated process named by a stale state file', async (t) => {
  const dir = await tempDir(t);
  const stateDir = join(dir, 'state');
  // The pid a killed supervisor left behind now belongs to an ordinary program.
  const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.after(() => void sleeper.kill('SIGKILL'));
  await once(sleeper, 'spawn');
  const pid = sleeper.pid!;
  // A state file of the current format (with a start time that is not the sleeper's) and one of the
  // format before start times were recorded: neither passes.
  staleState(stateDir, 'new-format', pid, { processStartTime: '1' });
  staleState(stateDir, 'old-format', pid);

  const states = readStates(stateDir);
  assert.deepEqual(
    states.map((s) => [s.status.id, s.alive]),
    [
      ['new-format', false],
      ['old-format', false],
    ],
  );

  const restart = await lazaret(dir, ['supervise', 'restart', '--state-dir', stateDir, '--no-wait']);
  assert.equal(restart.code, 1, restart.stdout + restart.stderr);
  assert.match(restart.stderr, /no running supervisor/);
  assert.ok(!gone(pid), 'the sleeper was not signalled');
  assert.equal(sleeper.exitCode, null);
  assert.equal(sleeper.signalCode, null);

  const status = await lazaret(dir, ['supervise', 'status', '--state-dir', stateDir]);
  assert.match(status.stdout, /NOT running/);
});

test('state files naming pid 0, -1, 1 or no number are never taken for a running supervisor', async (t) => {
  const dir = await tempDir(t);
  for (const [id, pid] of [
    ['zero', 0],
    ['minus-one', -1],
    ['init', 1],
    ['text', '42'],
    ['fraction', 1.5],
  ] as const) {
    staleState(dir, id, pid as number, { processStartTime: processStartTime(1) });
  }
  assert.ok(readStates(dir).every((s) => !s.alive));
});

test('a real supervisor passes the check: its state file records its start time', async (t) => {
  const dir = await tempDir(t);
  const sup = supervise(t, dir, ['--id', 'real', '--server', 'http://127.0.0.1:9', '--', 'sleep', '300']);
  await sup.event('spawned', {}, 15_000);
  const state = JSON.parse(readFileSync(join(dir, 'data/supervise/real.json'), 'utf8')) as { pid: number; processStartTime: string };
  assert.equal(state.processStartTime, processStartTime(state.pid));
  assert.deepEqual(
    readStates(join(dir, 'data/supervise')).map((s) => s.alive),
    [true],
  );
});

test('supervised programs do not inherit LAZARET_TOKEN, LAZARET_ADMIN_TOKEN or their _FILE variants', async (t) => {
  const dir = await tempDir(t);
  const secrets = {
    LAZARET_TOKEN: 'client-secret',
    LAZARET_ADMIN_TOKEN: 'admin-secret',
    LAZARET_TOKEN_FILE: '/run/secrets/token',
    LAZARET_ADMIN_TOKEN_FILE: '/run/secrets/admin',
  };
  const sup = supervise(t, dir, ['--server', 'http://127.0.0.1:9', '--', 'sh', '-c', 'env > env.txt; exec sleep 300'], { ...secrets, WORKER_SETTING: 'kept' });
  await sup.event('spawned', {}, 15_000);
  const env = await eventually(() => {
    try {
      const text = readFileSync(join(dir, 'env.txt'), 'utf8');
      return text.includes('WORKER_SETTING=') ? text : undefined;
    } catch {
      return undefined;
    }
  }, 'the program to write its environment');
  assert.match(env, /^WORKER_SETTING=kept$/m);
  for (const [key, value] of Object.entries(secrets)) {
    assert.doesNotMatch(env, new RegExp(`^${key}=`, 'm'), key);
    assert.ok(!env.includes(value), value);
  }
});
