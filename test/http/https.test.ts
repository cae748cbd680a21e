// HTTPS on the HTTP port: certificates made with openssl at test time, trusted through a CA file by the
// CLI and the supervisor's reporter, and replaced on SIGHUP without dropping open connections.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test, type TestContext } from 'node:test';
import { connect, type PeerCertificate } from 'node:tls';
import { ManualClock } from '../../src/core/clock.js';
import { readCaFile, request } from '../../src/http-client.js';
import { Reporter } from '../../src/supervisor/reporter.js';
import { certDir, makeCa, makeCert, type KeyPair } from '../helpers/tls.js';
import { runCli } from '../cli/run-cli.js';
import { recordingLog } from '../supervisor/fakes.js';
import { httpServer } from './helpers.js';
import { peerFor } from '../helpers/server.js';
import { waitEvent } from '../helpers/events.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The certificate a fresh TLS connection to the port is shown. */
async function servedCert(port: number, ca: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** Live files the server reads (cert.pem, key.pem), first with `first`'s content. */
function liveFiles(dir: string, first: KeyPair): KeyPair {
  const live = { cert: join(dir, 'live-cert.pem'), key: join(dir, 'live-key.pem') };
  copyFileSync(first.cert, live.cert);
  copyFileSync(first.key, live.key);
  return live;
}

function install(live: KeyPair, next: KeyPair): void {
  copyFileSync(next.cert, live.cert);
  copyFileSync(next.key, live.key);
}

test('the API over HTTPS; a reload serves the new certificate to new connections while an open event stream carries on', async (t) => {
  const dir = certDir(t);
  const ca = makeCa(dir);
  const live = liveFiles(dir, makeCert(dir, ca, 'first'));
  const renewed = makeCert(dir, ca, 'renewed');
  const caPem = readCaFile(ca.cert);
  const server = await httpServer(t, { http: { tls: live } });
  const base = `https://127.0.0.1:${server.httpPort}`;

  const health = await request(`${base}/health`, { method: 'GET', ca: caPem });
  assert.equal(health.status, 200);
  await assert.rejects(request(`${base}/health`, { method: 'GET' }), /self.signed|unable to verify|certificate/i, 'not trusted without the CA');
  await assert.rejects(request(`http://127.0.0.1:${server.httpPort}/health`, { method: 'GET', timeoutMs: 2000 }), 'no plain HTTP on that port');
  const created = await request(`${base}/api/jobs`, { method: 'POST', ca: caPem, headers: { 'content-type': 'application/json' }, body: '{"function":"tls"}' });
  assert.equal(created.status, 201);
  const handle = (JSON.parse(created.text) as { handle: string }).handle;

  // An event stream opened before the reload.
  const events: string[] = [];
  let notify = (): void => undefined;
  const stream = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    get(`${base}/api/jobs/${handle}/events`, { ca: caPem }, resolve).on('error', reject);
  });
  t.after(() => stream.destroy());
  const oldCert = (stream.socket as import('node:tls').TLSSocket).getPeerCertificate();
  stream.setEncoding('utf8');
  stream.on('data', (c: string) => {
    events.push(c);
    notify();
  });
  const seen = (text: string): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => (events.join('').includes(text) ? resolve() : void (notify = check));
      check();
    });
  await seen('"state":"queued"');
  assert.equal(oldCert.subject.CN, 'first');
  // From here on, every event this stream gets proves its connection outlived the reload.

  install(live, renewed);
  server.reloadTls();
  assert.equal((await servedCert(server.httpPort!, caPem)).subject.CN, 'renewed', 'new connections get the renewed certificate');

  const worker = await peerFor(t, server.gearmanPort);
  worker.send('CAN_DO', 'tls');
  await worker.request('GRAB_JOB', [], 'JOB_ASSIGN');
  worker.send('WORK_STATUS', handle, '1', '2');
  await seen('"numerator":1');
  const done = waitEvent(server.engine, 'job:finished', (o) => o.handle === handle);
  worker.send('WORK_COMPLETE', handle, 'ok');
  await done;
  await seen('"state":"completed"');

  // A broken file on reload keeps the previous certificate in service.
  copyFileSync(ca.cert, live.key);
  server.reloadTls();
  assert.equal((await servedCert(server.httpPort!, caPem)).subject.CN, 'renewed');
});

test('the supervisor reports to an https:// server it trusts through caFile', async (t) => {
  const dir = certDir(t);
  const ca = makeCa(dir);
  const server = await httpServer(t, { http: { tls: makeCert(dir, ca, 'server') } });
  const { log } = recordingLog();
  const reporter = new Reporter(
    {
      id: 'tls-sup',
      server: `https://127.0.0.1:${server.httpPort}`,
      token: null,
      caFile: ca.cert,
      reportIntervalMs: 1000,
      stateDir: '.',
      settleMs: 0,
      logLevel: 'info',
      programs: [],
    },
    {
      clock: new ManualClock(),
      log,
      status: () => ({
        id: 'tls-sup',
        host: 'h',
        pid: 1,
        server: '',
        startedAt: '',
        updatedAt: '',
        stopping: false,
        rollout: { running: false, finished: 0, lastResult: null, lastFinishedAt: null },
        programs: [],
      }),
    },
  );
  reporter.start();
  await reporter.settled();
  const list = await request(`https://127.0.0.1:${server.httpPort}/api/supervisors`, { method: 'GET', ca: readCaFile(ca.cert) });
  assert.match(list.text, /"tls-sup"/);
  await reporter.stop();
});

interface ServeProcess {
  pid: number;
  httpPort: number;
  /** Resolves on the next log line that contains `text`. */
  nextLine(text: string): Promise<string>;
}

async function serveProcess(t: TestContext, args: string[]): Promise<ServeProcess> {
  const proc = spawn(process.execPath, ['dist/cli/main.js', 'serve', '--port', '0', '--http-port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  t.after(async () => {
    proc.kill('SIGTERM');
    await exited;
  });
  const lines: string[] = [];
  let waiters: ((line: string) => void)[] = [];
  const rl = createInterface({ input: proc.stdout });
  rl.on('line', (line) => {
    lines.push(line);
    const w = waiters;
    waiters = [];
    for (const f of w) f(line);
  });
  const nextLine = (text: string): Promise<string> =>
    new Promise((resolve) => {
      const check = (line: string): void => (line.includes(text) ? resolve(line) : void waiters.push(check));
      waiters.push(check);
    });
  const listening = nextLine('"http":"https://');
  const httpPort = await Promise.race([
    listening.then((line) => Number(/"http":"https:\/\/127\.0\.0\.1:(\d+)"/.exec(line)![1])),
    exited.then(() => Promise.reject(new Error(`serve exited: ${lines.join('\n')}`))),
  ]);
  return { pid: proc.pid!, httpPort, nextLine };
}

test('lazaret serve --http-tls-cert/--http-tls-key; the CLI trusts it through --ca-file or LAZARET_CA_FILE; SIGHUP reloads', async (t) => {
  const dir = certDir(t);
  const ca = makeCa(dir);
  const live = liveFiles(dir, makeCert(dir, ca, 'first'));
  const renewed = makeCert(dir, ca, 'renewed');
  const server = await serveProcess(t, ['--db', join(dir, 'x.db'), '--http-tls-cert', live.cert, '--http-tls-key', live.key]);
  const url = `https://127.0.0.1:${server.httpPort}`;

  const untrusted = await runCli(['status', '--server', url], { dist: true });
  assert.equal(untrusted.code, 2);
  assert.match(untrusted.stderr, /--ca-file/);
  const flagged = await runCli(['status', '--server', url, '--ca-file', ca.cert, '--json'], { dist: true });
  assert.equal(flagged.code, 0, flagged.stderr);
  const viaEnv = await runCli(['dlq', 'list', '--server', url, '--json'], { dist: true, env: { LAZARET_CA_FILE: ca.cert } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);

  const caPem = readCaFile(ca.cert);
  assert.equal((await servedCert(server.httpPort, caPem)).subject.CN, 'first');
  install(live, renewed);
  const reloaded = server.nextLine('HTTPS certificate reloaded');
  process.kill(server.pid, 'SIGHUP');
  await reloaded;
  assert.equal((await servedCert(server.httpPort, caPem)).subject.CN, 'renewed');
});

test('a key that does not match its certificate stops the start with LAZ_CONFIG_INVALID', async (t) => {
  const dir = certDir(t);
  const ca = makeCa(dir);
  const a = makeCert(dir, ca, 'a');
  const b = makeCert(dir, ca, 'b');
  await assert.rejects(
    httpServer(t, { http: { tls: { cert: a.cert, key: b.key } } }),
    (e: Error & { code?: string }) => e.code === 'LAZ_CONFIG_INVALID' && /Cannot use the HTTPS certificate/.test(e.message),
  );
});
