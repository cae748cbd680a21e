// Log lines an operator greps for: handle, function and worker as fields on quarantines, health changes
// (warn when red, info on recovery), and every state change at debug.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { startServer } from '../../src/server.js';
import { freshSqlite } from '../helpers/store.js';
import { peerFor, testConfig } from '../helpers/server.js';
import { grab, health, healthWith, submitBg } from './helpers.js';
import { waitEvent } from '../helpers/events.js';

type Line = Record<string, unknown> & { level: number; msg: string };

test('quarantine, health changes and state changes are logged with handle, function and worker', async (t) => {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Line) });
  const db = await freshSqlite();
  const config = testConfig({ httpPort: 0, health: healthWith([{ function: 'mail', minWorkers: 1 }]), policies: [{ match: 'mail', maxAttempts: 1 }] }, db.path);
  const server = await startServer(config, { logger });
  t.after(async () => {
    await server.stop({ graceMs: 0 });
    await db.cleanup();
  });
  const client = await peerFor(t, server.gearmanPort);
  const handle = await submitBg(client, 'mail', 'hello');
  await health(server);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('SET_CLIENT_ID', 'mailer-1');
  worker.send('CAN_DO', 'mail');
  await grab(worker);
  await health(server);
  const quarantined = waitEvent(server.engine, 'job:quarantined');
  worker.send('WORK_FAIL', handle);
  await quarantined;

  const find = (pred: (l: Line) => boolean, what: string): Line => {
    const l = lines.find(pred);
    assert.ok(l, `${what} in ${JSON.stringify(lines.map((x) => x.msg))}`);
    return l;
  };
  const red = find((l) => l.check === 'workers' && /failing/.test(l.msg), 'the red health line');
  assert.equal(red.level, 40);
  assert.equal(red.function, 'mail');
  const recovered = find((l) => l.check === 'workers' && /recovered/.test(l.msg), 'the recovery line');
  assert.equal(recovered.level, 30);
  const q = find((l) => /job quarantined/.test(l.msg), 'the quarantine line');
  assert.deepEqual([q.level, q.handle, q.function, q.worker, q.reason], [40, handle, 'mail', 'mailer-1', 'max_attempts']);
  const started = find((l) => l.msg === 'attempt started', 'the debug state line');
  assert.deepEqual([started.level, started.handle, started.function, started.worker], [20, handle, 'mail', 'mailer-1']);
  find((l) => l.msg === 'job queued' && l.handle === handle, 'the queued line');
});
