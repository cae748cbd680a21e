// The evidence convention (docs/evidence.md). A worker in any language attaches exit code,
// signal, stderr tail and error class to a failure with `LAZARET-EVIDENCE {json}` in WORK_EXCEPTION, or
// in a WORK_WARNING before WORK_FAIL; it is stored on the attempt and shown by the API and `dlq show`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../cli/run-cli.js';
import { grab, jobIdOf, submitBg } from './helpers.js';
import { peerFor, serverFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const EVIDENCE = { exitCode: 139, signal: 'SIGSEGV', stderr: 'boom', errorClass: 'Segfault' };
const EVIDENCE_LINE = `LAZARET-EVIDENCE ${JSON.stringify(EVIDENCE)}`;

interface ApiAttempt {
  n: number;
  outcome: string;
  error: string | null;
  evidence: Record<string, unknown> | null;
}

test('evidence in WORK_EXCEPTION, or in a WORK_WARNING before WORK_FAIL, is stored on the attempt and shown by the API and `lazaret dlq show`', async (t) => {
  const server = await serverFor(t, { httpPort: 0, policies: [{ match: 'native', maxAttempts: 1 }] });
  const client = await peerFor(t, server.gearmanPort);
  const worker = await peerFor(t, server.gearmanPort);
  worker.send('SET_CLIENT_ID', 'native-worker');
  worker.send('CAN_DO', 'native');

  // 1. the evidence is the WORK_EXCEPTION data
  const viaException = await submitBg(client, 'native', 'core.dump');
  assert.equal((await grab(worker)).text[0], viaException);
  let quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === viaException);
  worker.send('WORK_EXCEPTION', viaException, EVIDENCE_LINE);
  let [entry] = await quarantined;
  assert.deepEqual(entry.attempts[0]!.evidence, EVIDENCE);
  assert.equal(entry.attempts[0]!.error, 'Segfault', 'without a message, the error class names the failure');

  // 2. the evidence comes in a WORK_WARNING, then a bare WORK_FAIL
  const viaWarning = await submitBg(client, 'native', 'core.dump.2');
  assert.equal((await grab(worker)).text[0], viaWarning);
  quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === viaWarning);
  worker.send('WORK_WARNING', viaWarning, `LAZARET-EVIDENCE ${JSON.stringify({ ...EVIDENCE, message: 'segfault in libvips' })}`);
  worker.send('WORK_FAIL', viaWarning);
  [entry] = await quarantined;
  assert.deepEqual(entry.attempts[0]!.evidence, { ...EVIDENCE, message: 'segfault in libvips' });
  assert.equal(entry.attempts[0]!.error, 'WORK_FAIL');

  // 3. anything else is plain error text, not evidence
  const plain = await submitBg(client, 'native', 'x');
  assert.equal((await grab(worker)).text[0], plain);
  quarantined = waitEvent(server.engine, 'job:quarantined', (e) => e.handle === plain);
  worker.send('WORK_EXCEPTION', plain, 'LAZARET-EVIDENCE {not json');
  [entry] = await quarantined;
  assert.equal(entry.attempts[0]!.evidence, null);
  assert.equal(entry.attempts[0]!.error, 'LAZARET-EVIDENCE {not json');

  // The API shows it on every attempt.
  const base = `http://127.0.0.1:${server.httpPort}`;
  const api = (await (await fetch(`${base}/api/quarantine/${jobIdOf(viaException)}`)).json()) as { attemptList: ApiAttempt[] };
  // A signal in the evidence makes the attempt a crash (docs/evidence.md).
  assert.deepEqual(
    api.attemptList.map((a) => [a.n, a.outcome, a.error, a.evidence]),
    [[1, 'crashed', 'Segfault', EVIDENCE]],
  );

  // So does `lazaret dlq show`, in its attempts table.
  const shown = await runCli(['dlq', 'show', String(jobIdOf(viaException)), '--server', base]);
  assert.equal(shown.code, 0, shown.stderr);
  const row = shown.stdout.split('\n').find((l) => l.startsWith('1 '));
  assert.ok(row, `an attempt row in:\n${shown.stdout}`);
  for (const part of ['native-worker', 'crashed', 'Segfault', 'signal SIGSEGV', 'exit 139', 'stderr: "boom"'])
    assert.ok(row.includes(part), `"${part}" in ${row}`);

  const warned = (await (await fetch(`${base}/api/quarantine/${jobIdOf(viaWarning)}`)).json()) as { attemptList: ApiAttempt[] };
  assert.deepEqual(warned.attemptList[0]!.evidence, { ...EVIDENCE, message: 'segfault in libvips' });
});
