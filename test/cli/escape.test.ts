// Terminal escapes and line breaks in what peers sent (unique keys, worker errors, tags, names from an
// older database, supervisor state files) never reach the operator's terminal raw through the real CLI,
// and `impact --csv` guards spreadsheet formulas with the same rule as the dashboard's export.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvCell, guardFormula } from '../../src/csv.js';
import { safeJson } from '../../src/cli/format.js';
import { processStartTime } from '../../src/supervisor/identity.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { waitEvent } from '../helpers/events.js';
import { httpServer } from '../http/helpers.js';
import { runCli, type CliResult } from './run-cli.js';
import { peerFor } from '../helpers/server.js';

const ESC = '\x1b';
const CSI = '\u009b';

function clean(r: CliResult, what: string, code = 0): string {
  assert.equal(r.code, code, `${what}: exit ${r.code}\n${r.stderr}`);
  for (const [name, out] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ] as const) {
    assert.ok(!out.includes(ESC) && !out.includes(CSI) && !out.includes('\x07'), `${what} printed a raw control character on ${name}: ${JSON.stringify(out)}`);
  }
  return r.stdout;
}

test('dlq list, dlq show, status and impact escape control characters; impact --csv guards formulas', async (t) => {
  const server = await httpServer(t, { policies: [{ match: 'esc.*', maxAttempts: 1 }], tags: [{ function: 'esc.*', fromPayload: ['user'] }] });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'esc.job');
  const unique = `u${ESC}]0;pwned${'\x07'}${CSI}2J`;
  const hurt = async (handle: string): Promise<void> => {
    const a = await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
    assert.equal(a.text[0], handle);
    const quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === handle);
    worker.send('WORK_EXCEPTION', handle, `${ESC}[2Jboom\nforged line`);
    await quarantined;
  };
  for (const user of [`${ESC}[31mred`, 'plain']) {
    await hurt((await client.request('SUBMIT_JOB_BG', ['esc.job', `${unique}${user.length}`, JSON.stringify({ user })], 'JOB_CREATED')).text[0]!);
  }
  // Tags given through the API are free text: one may start like a formula.
  const formulas = ['=HYPERLINK("http://x","y")', '+1', '-2', '@SUM(A1)', '\tlead'];
  const res = await fetch(`${server.url}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ function: 'esc.job', payload: '{}', tags: formulas }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  await hurt(((await res.json()) as { handle: string }).handle);
  // A name stored by an older version, before names were checked.
  server.engine.functions.ensure(`old${ESC}[5mname`).pinned = true;
  const args = ['--server', server.url];

  const list = clean(await runCli(['dlq', 'list', ...args]), 'dlq list');
  assert.ok(list.includes('u\\x1b]0;pwned\\x07\\x9b2J'), list);
  assert.equal(list.trimEnd().split('\n').length, 4, 'one line per entry, nothing forged');
  const id = /^(\d+)\s/m.exec(list.split('\n')[1]!)![1]!;
  const show = clean(await runCli(['dlq', 'show', id, ...args]), 'dlq show');
  assert.ok(show.includes('\\x1b[2Jboom\\x0aforged line'), show);
  const json = clean(await runCli(['dlq', 'list', '--json', ...args]), 'dlq list --json');
  assert.ok(
    (JSON.parse(json) as { unique: string }[]).some((e) => e.unique.startsWith(unique)),
    'the JSON still carries the exact data',
  );

  const status = clean(await runCli(['status', ...args]), 'status');
  assert.ok(status.includes('old\\x1b[5mname'), status);
  clean(await runCli(['status', '--json', ...args]), 'status --json');

  const impact = clean(await runCli(['impact', ...args]), 'impact');
  assert.ok(impact.includes('user:\\x1b[31mred') && impact.includes('\\x09lead'), impact);
  const csv = clean(await runCli(['impact', '--csv', ...args]), 'impact --csv');
  const first = csv
    .trimEnd()
    .split('\r\n')
    .join('\n')
    .split('\n')
    .map((l) => l.slice(0, l.lastIndexOf(',', l.length - 1)).split(',')[0]);
  for (const want of ['user:\\x1b[31mred', "'+1", "'-2", "'@SUM(A1)", "'\\x09lead", '"\'=HYPERLINK(""http://x""', 'user:plain']) {
    assert.ok(
      first.some((c) => c?.startsWith(want)),
      `${want} in\n${csv}`,
    );
  }
});

test('impact --csv guards a tag that starts like a formula', () => {
  // Tags are key=value, so the guard matters where the whole cell is a peer's text.
  for (const s of ['=1+1', '+1', '-1', '@A1', '\tx', '\rx']) assert.equal(guardFormula(s), `'${s}`);
  for (const s of ['a=1', '1', '', 'x-1']) assert.equal(guardFormula(s), s);
  assert.equal(csvCell('=HYPERLINK("a","b")'), `"'=HYPERLINK(""a"",""b"")"`);
  assert.equal(csvCell(-5), '-5', 'numbers are numbers');
  assert.equal(csvCell('a\nb'), '"a\nb"');
  assert.equal(safeJson({ a: `${ESC}${CSI}\u202e` }), '{"a":"\\u001b\\u009b\\u202e"}');
});

test('supervise status escapes what a state file says', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-esc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const now = new Date().toISOString();
  await writeFile(
    join(dir, 'evil.json'),
    JSON.stringify({
      id: `sup${ESC}[2J`,
      host: `host${CSI}1m`,
      pid: process.pid,
      server: 'http://127.0.0.1:1',
      startedAt: now,
      updatedAt: now,
      stopping: false,
      rollout: { running: false, finished: 0, lastResult: null, lastFinishedAt: null },
      programs: [
        {
          name: `prog${ESC}]0;title\x07`,
          command: 'x',
          copies: 1,
          running: 0,
          restarts: 0,
          recycled: 0,
          flapping: false,
          lastExits: [],
          instances: [{ copy: 1, pid: null, startedAt: null, nextStartAt: null }],
        },
      ],
    }),
  );
  // The file names this test's own process, which is no supervisor: status says it is not running
  // (exit 1), and still prints what the file says, escaped.
  const out = clean(await runCli(['supervise', 'status', '--state-dir', dir]), 'supervise status', 1);
  assert.match(out, /is NOT running/);
  assert.ok(out.includes('sup\\x1b[2J') && out.includes('prog\\x1b]0;title\\x07'), out);
  clean(await runCli(['supervise', 'status', '--json', '--state-dir', dir]), 'supervise status --json', 1);
});

test('supervise restart escapes the id a state file gives', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-esc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // A process that passes for the supervisor (its pid and start time match the file); SIGHUP ends it.
  const stand = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.after(() => void stand.kill('SIGKILL'));
  await once(stand, 'spawn');
  const now = new Date().toISOString();
  await writeFile(
    join(dir, 'evil.json'),
    JSON.stringify({
      id: `sup${ESC}[2J${CSI}1m`,
      host: 'h',
      pid: stand.pid,
      processStartTime: processStartTime(stand.pid!),
      server: 'http://127.0.0.1:1',
      startedAt: now,
      updatedAt: now,
      stopping: false,
      rollout: { running: false, finished: 0, lastResult: null, lastFinishedAt: null },
      programs: [],
    }),
  );
  const out = clean(await runCli(['supervise', 'restart', '--no-wait', '--state-dir', dir]), 'supervise restart');
  assert.ok(out.includes('sup\\x1b[2J'), out);
});
