import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultName, loadSupervisorConfig } from '../../src/supervisor/config.js';
import { isLazaretError } from '../../src/errors.js';

function file(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'laz-supcfg-')), 'supervise.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

test('the one-program form: defaults, a name from the command, LAZARET_URL, flags over environment', () => {
  const c = loadSupervisorConfig({ copies: '4' }, ['php', 'workers/resize.php', '--verbose'], { LAZARET_URL: 'http://jobs:4731/' }, 'web-1');
  assert.equal(c.id, 'web-1:resize');
  assert.equal(c.server, 'http://jobs:4731');
  assert.equal(c.stateDir, './data/supervise');
  assert.equal(c.reportIntervalMs, 5000);
  assert.deepEqual(c.programs[0], {
    name: 'resize',
    command: ['php', 'workers/resize.php', '--verbose'],
    copies: 4,
    env: {},
    cwd: null,
    stopGraceMs: 10_000,
    maxRuntimeMs: null,
    killStuckAfterMs: 60_000,
    backoff: { initialMs: 1000, maxMs: 60_000 },
    stableAfterMs: 10_000,
    flapping: { exits: 3, windowMs: 60_000 },
  });
  const flagged = loadSupervisorConfig(
    { server: 'http://other:1', maxRuntime: '30m', backoffInitial: '5ms', name: 'x' },
    ['w'],
    { LAZARET_URL: 'http://jobs:4731' },
    'h',
  );
  assert.equal(flagged.server, 'http://other:1');
  assert.equal(flagged.programs[0]!.maxRuntimeMs, 1_800_000);
  assert.equal(flagged.programs[0]!.backoff.initialMs, 5);
  assert.equal(defaultName(['/usr/local/bin/mailer']), 'mailer');
  assert.equal(defaultName(['sh', '-c', 'exec php worker.php']), 'sh');
});

test('the config file form: every program with its settings', () => {
  const path = file({
    id: 'jobs-web-1',
    reportInterval: '2s',
    settle: '5s',
    programs: [
      {
        name: 'resize',
        command: ['php', 'resize.php'],
        copies: 4,
        env: { APP_ENV: 'prod' },
        cwd: '/srv/app',
        stopGraceMs: '30s',
        maxRuntime: '15m',
        backoff: { initial: '500ms', max: '30s' },
      },
      { name: 'mail', command: 'perl mail.pl 2>&1 | logger', stableAfter: '1m', flapping: { exits: 5, window: '10m' } },
    ],
  });
  const c = loadSupervisorConfig({ config: path }, [], {}, 'h');
  assert.equal(c.id, 'jobs-web-1');
  assert.equal(c.reportIntervalMs, 2000);
  assert.equal(c.settleMs, 5000);
  const [resize, mail] = c.programs;
  assert.deepEqual(
    [resize!.copies, resize!.env, resize!.cwd, resize!.stopGraceMs, resize!.maxRuntimeMs, resize!.backoff],
    [4, { APP_ENV: 'prod' }, '/srv/app', 30_000, 900_000, { initialMs: 500, maxMs: 30_000 }],
  );
  assert.deepEqual(
    [mail!.command, mail!.copies, mail!.stableAfterMs, mail!.flapping],
    ['perl mail.pl 2>&1 | logger', 1, 60_000, { exits: 5, windowMs: 600_000 }],
  );
});

test('a bad config lists every problem with where it came from', () => {
  const path = file({
    sever: 'x',
    programs: [
      { name: 'a b', command: [], copies: 0, backoff: { initial: '2s', max: '1s' } },
      { name: 'ok', command: 'x', maxRuntime: 'soon' },
      { name: 'ok', command: 'y' },
    ],
  });
  assert.throws(
    () => loadSupervisorConfig({ config: path, server: 'ftp://x' }, [], {}, 'h'),
    (err: unknown) => {
      assert.ok(isLazaretError(err, 'LAZ_CONFIG_INVALID'));
      for (const expected of [
        /sever \(config file .*\): unknown key/,
        /programs\[0\]\.command .*argv array/,
        /programs\[0\]\.name .*"a b"/,
        /programs\[0\]\.copies .*from 1 to 1000; got 0/,
        /programs\[0\]\.backoff\.max .*at least backoff\.initial \(2000 ms\)/,
        /programs\[1\]\.maxRuntime .*"soon"/,
        /the name "ok" is used twice/,
        /server .*http:\/\/ or https:\/\/ URL; got "ftp:\/\/x"/,
      ]) {
        assert.match(err.message, expected);
      }
      return true;
    },
  );
  assert.throws(() => loadSupervisorConfig({ config: path }, ['php', 'w.php'], {}, 'h'), /either --config FILE or a command/);
  assert.throws(() => loadSupervisorConfig({ config: path, copies: '2' }, [], {}, 'h'), /--copies only apply to the one-program form/);
  assert.throws(() => loadSupervisorConfig({}, [], {}, 'h'), /Nothing to supervise/);
  assert.throws(() => loadSupervisorConfig({ config: file('{not json') }, [], {}, 'h'), /Cannot read supervisor config/);
});

test('killStuckAfter: a duration, "off" or null for never, a clear problem for anything else', () => {
  assert.equal(loadSupervisorConfig({ killStuckAfter: '30s' }, ['w'], {}, 'h').programs[0]!.killStuckAfterMs, 30_000);
  assert.equal(loadSupervisorConfig({ killStuckAfter: 'off' }, ['w'], {}, 'h').programs[0]!.killStuckAfterMs, null);
  const path = file({
    programs: [
      { command: ['a'], killStuckAfter: null },
      { name: 'b', command: ['b'], killStuckAfter: '2m' },
    ],
  });
  assert.deepEqual(
    loadSupervisorConfig({ config: path }, [], {}, 'h').programs.map((p) => p.killStuckAfterMs),
    [null, 120_000],
  );
  assert.throws(
    () => loadSupervisorConfig({ config: file({ programs: [{ command: ['a'], killStuckAfter: 'soon' }] }) }, [], {}, 'h'),
    (err: unknown) => isLazaretError(err) && /programs\[0\]\.killStuckAfter .*must be a duration/.test(err.message),
  );
});
