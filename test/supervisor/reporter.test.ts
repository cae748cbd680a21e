// The reporter against a bare HTTP endpoint that records what it is sent, with time on a ManualClock.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from '../../src/core/clock.js';
import { Reporter } from '../../src/supervisor/reporter.js';
import type { SupervisorConfig } from '../../src/supervisor/config.js';
import type { SupervisorStatus } from '../../src/supervisor/supervisor.js';
import { recordingLog } from './fakes.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: Record<string, unknown> | null;
}

async function endpoint(t: TestContext): Promise<{ url: string; seen: Seen[]; status: { code: number; answer: string } }> {
  const seen: Seen[] = [];
  const status = { code: 200, answer: '{}' };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({
        method: req.method!,
        url: req.url!,
        auth: req.headers.authorization,
        body: body === '' ? null : (JSON.parse(body) as Record<string, unknown>),
      });
      res.writeHead(status.code, { 'content-type': 'application/json' }).end(status.answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, status };
}

function setup(url: string) {
  const clock = new ManualClock();
  const { log, lines } = recordingLog();
  let restarts = 0;
  const config: SupervisorConfig = {
    id: 'web-1:resize',
    server: url,
    token: 'sekret',
    reportIntervalMs: 1000,
    stateDir: '.',
    settleMs: 0,
    logLevel: 'info',
    programs: [],
  };
  const status = (): SupervisorStatus => ({
    id: config.id,
    host: 'web-1',
    pid: 77,
    server: url,
    startedAt: '',
    updatedAt: '',
    stopping: false,
    rollout: { running: false, finished: 0, lastResult: null, lastFinishedAt: null },
    programs: [
      { name: 'resize', command: 'php w.php', copies: 2, running: 2, restarts: restarts++, recycled: 0, flapping: false, lastExits: [], instances: [] },
    ],
  });
  return { clock, lines, reporter: new Reporter(config, { clock, log, status }) };
}

test('reporter: PUTs the documented shape with the token, again every interval, at most every interval/4 while changes pour in, DELETE on stop', async (t) => {
  const { url, seen } = await endpoint(t);
  const { clock, reporter } = setup(url);
  reporter.start();
  await reporter.settled();
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0], {
    method: 'PUT',
    url: '/api/supervisors/web-1%3Aresize',
    auth: 'Bearer sekret',
    body: {
      id: 'web-1:resize',
      host: 'web-1',
      pid: 77,
      intervalMs: 1000,
      programs: [{ name: 'resize', command: 'php w.php', copies: 2, running: 2, restarts: 0, recycled: 0, flapping: false, lastExits: [], pids: [] }],
    },
  });

  for (let i = 0; i < 50; i++) reporter.changed();
  await reporter.settled();
  assert.equal(seen.length, 1, 'a burst of changes right after a report waits for the gap');
  clock.advance(249);
  assert.equal(seen.length, 1);
  clock.advance(1);
  await reporter.settled();
  assert.equal(seen.length, 2, 'one report for the whole burst');

  clock.advance(999);
  await reporter.settled();
  assert.equal(seen.length, 2);
  clock.advance(1);
  await reporter.settled();
  assert.equal(seen.length, 3, 'and one every interval');

  await reporter.stop();
  assert.deepEqual(
    seen.slice(-1).map((s) => [s.method, s.url]),
    [['DELETE', '/api/supervisors/web-1%3Aresize']],
  );
  clock.advance(10_000);
  await reporter.settled();
  assert.equal(seen.length, 4, 'nothing after the stop');
});

test('reporter: a failing server is logged once per outage, never thrown, and reporting resumes', async (t) => {
  const { url, seen, status } = await endpoint(t);
  const { clock, lines, reporter } = setup(url);
  status.code = 503;
  reporter.start();
  for (let i = 0; i < 3; i++) {
    await reporter.settled();
    clock.advance(1000);
  }
  await reporter.settled();
  assert.equal(seen.length, 4, 'it keeps trying');
  const failed = lines.filter((l) => l.event === 'report_failed');
  assert.equal(failed.length, 1);
  assert.match(failed[0]!.msg, /HTTP 503/);
  status.code = 200;
  clock.advance(1000);
  await reporter.settled();
  assert.equal(lines.filter((l) => l.event === 'report_ok').length, 1);
  await reporter.stop();
});

test("reporter: stuck copies named in the server's answer are handed on; malformed entries are dropped", async (t) => {
  const { url, status } = await endpoint(t);
  const clock = new ManualClock();
  const { log } = recordingLog();
  const handed: unknown[] = [];
  const config: SupervisorConfig = { id: 's', server: url, token: null, reportIntervalMs: 1000, stateDir: '.', settleMs: 0, logLevel: 'info', programs: [] };
  const statusOf = (): SupervisorStatus => ({
    id: 's',
    host: 'h',
    pid: 1,
    server: url,
    startedAt: '',
    updatedAt: '',
    stopping: false,
    rollout: { running: false, finished: 0, lastResult: null, lastFinishedAt: null },
    programs: [],
  });
  const reporter = new Reporter(config, { clock, log, status: statusOf, stuck: (copies) => handed.push(...copies) });
  const good = { pid: 1234, worker: '127.0.0.1:5000 pid 1234', function: 'resize', handle: 'H:x:1', stuckMs: 61_000 };
  status.answer = JSON.stringify({ ok: true, stuck: [good, { pid: 'x' }, null] });
  reporter.start();
  await reporter.settled();
  assert.deepEqual(handed, [good]);
  status.answer = 'not json';
  clock.advance(1000);
  await reporter.settled();
  assert.equal(handed.length, 1, 'an answer that is not JSON is no news');
  await reporter.stop();
});
