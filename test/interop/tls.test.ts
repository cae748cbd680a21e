// TLS on the Gearman port, with client certificates (mutual TLS) and a plain port beside it, against
// the clients that speak Gearman over TLS: lazaret/client, Debian's Perl Gearman::Client and
// Gearman::Worker (IO::Socket::SSL; Debian's libgearman is built without TLS), and `openssl s_client`.
// Certificates are made for each run with the openssl command.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { Client, isClientError, Worker } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { PacketType } from '../../src/protocol/packets.js';
import { RawPeer } from '../helpers/gearman-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeCerts, type TestCerts } from '../helpers/tls.js';
import { runCli } from '../cli/run-cli.js';
import { need, Proc, SCRIPTS, type Owner } from './procs.js';

let certs: TestCerts;
let mtls: TestServer;

before(async () => {
  certs = await makeCerts();
  mtls = await startTestServer({ ssl: true, sslCertificate: certs.files.serverCert, sslKey: certs.files.serverKey, sslCaFile: certs.files.ca, plainPort: 0 });
});
after(async () => {
  await mtls?.dispose();
  await certs?.cleanup();
});

const tlsServer = (
  port: number,
  cert = certs.pem.clientCert,
  key = certs.pem.clientKey,
): { address: string; tls: { ca: string; cert: string; key: string } } => ({
  address: `127.0.0.1:${port}`,
  tls: { ca: certs.pem.ca, cert, key },
});

/** A process that the test kills when it ends, with TLS settings in its environment. */
function startWith(owner: Owner, env: Record<string, string>, cmd: string, args: string[]): Proc {
  const proc = new Proc(`${cmd} ${args.join(' ')}`, spawn(cmd, args, { cwd: SCRIPTS, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] }));
  owner.after(async () => {
    if (!proc.alive) return;
    proc.kill('SIGKILL');
    await proc.exited;
  });
  return proc;
}

test('lazaret/client and Worker over mutual TLS; the plain port beside it serves the same queues', async (t) => {
  const worker = new Worker({ servers: [tlsServer(mtls.gearmanPort)], functions: { 'tls.reverse': (job) => Buffer.from(job.payload).reverse() } });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const client = new Client({ servers: [tlsServer(mtls.gearmanPort)] });
  t.after(() => client.close());
  assert.equal((await client.submit('tls.reverse', 'abc')).toString(), 'cba');

  // A client-wide tls applies to servers given as strings.
  const wide = new Client({ servers: `127.0.0.1:${mtls.gearmanPort}`, tls: { ca: certs.pem.ca, cert: certs.pem.clientCert, key: certs.pem.clientKey } });
  t.after(() => wide.close());
  assert.equal((await wide.submit('tls.reverse', 'xyz')).toString(), 'zyx');

  assert.ok(mtls.gearmanPlainPort !== null && mtls.gearmanPlainPort !== mtls.gearmanPort);
  const plain = new Client({ servers: `127.0.0.1:${mtls.gearmanPlainPort}` });
  t.after(() => plain.close());
  assert.equal((await plain.submit('tls.reverse', 'plain')).toString(), 'nialp', 'a plain client, a TLS worker');
});

test('mutual TLS refuses a client without a certificate, one from another CA, and plain text on the TLS port', async (t) => {
  for (const [what, server] of [
    ['no certificate', { address: `127.0.0.1:${mtls.gearmanPort}`, tls: { ca: certs.pem.ca } }],
    ['another CA', tlsServer(mtls.gearmanPort, certs.pem.rogueCert, certs.pem.rogueKey)],
  ] as const) {
    const client = new Client({ servers: [server], connectTimeoutMs: 5000, reconnect: { baseMs: 10_000 } });
    t.after(() => client.close());
    await assert.rejects(
      client.submitBackground('tls.never', 'x'),
      (err) => isClientError(err) && /certificate|alert|closed|reset|socket/i.test(err.message),
      what,
    );
  }
  // A server certificate the client does not trust is refused by the client.
  const untrusting = new Client({
    servers: [{ address: `127.0.0.1:${mtls.gearmanPort}`, tls: { ca: certs.pem.rogueCert, cert: certs.pem.clientCert, key: certs.pem.clientKey } }],
  });
  t.after(() => untrusting.close());
  await assert.rejects(untrusting.submitBackground('tls.never', 'x'), (err) => isClientError(err) && /certificate/i.test(err.message));

  // Plain Gearman on the TLS port: no answer, the connection is closed.
  const raw = connect({ port: mtls.gearmanPort, host: '127.0.0.1' });
  raw.on('error', () => undefined);
  await once(raw, 'connect');
  const got: Buffer[] = [];
  raw.on('data', (c: Buffer) => got.push(c));
  raw.write(encodePacket('REQ', PacketType.ECHO_REQ, ['plain?']));
  await once(raw, 'close');
  assert.ok(!Buffer.concat(got).includes('plain?'), 'no ECHO_RES over plain text');
  const admin = await RawPeer.connect(mtls.gearmanPlainPort!);
  t.after(() => admin.close());
  assert.ok(!(await admin.admin('status')).includes('tls.never'), 'nothing was submitted');
});

test("lazaret check over mutual TLS, with gearmand's flag names", async (t) => {
  const worker = new Worker({ servers: [tlsServer(mtls.gearmanPort)], check: true });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const server = `127.0.0.1:${mtls.gearmanPort}`;
  const ok = await runCli(
    [
      'check',
      '--server',
      server,
      '--ssl-ca-file',
      certs.files.ca,
      '--ssl-certificate',
      certs.files.clientCert,
      '--ssl-key',
      certs.files.clientKey,
      '--timeout',
      '10s',
    ],
    { dist: true },
  );
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /lazaret check: ok: lazaret\.check on 127\.0\.0\.1:\d+ answered/);
  const bare = await runCli(['check', '--server', server, '--ssl-ca-file', certs.files.ca, '--timeout', '5s'], { dist: true });
  assert.equal(bare.code, 3, 'unreachable without a client certificate');
  assert.match(bare.stderr, /certificate required/);
  const missing = await runCli(['check', '--server', server, '--ssl-ca-file', '/nonexistent/ca.pem'], { dist: true });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Cannot read \/nonexistent\/ca\.pem/);
});

test('openssl s_client with a client certificate speaks the admin protocol over TLS', async (t) => {
  const proc = startWith(t, {}, 'openssl', [
    's_client',
    '-quiet',
    '-verify_return_error',
    '-CAfile',
    certs.files.ca,
    '-cert',
    certs.files.clientCert,
    '-key',
    certs.files.clientKey,
    '-connect',
    `127.0.0.1:${mtls.gearmanPort}`,
  ]);
  proc.send('version');
  const deadline = Date.now() + 10_000;
  while (!proc.stdout.includes('OK 1.1.20+lazaret')) {
    assert.ok(proc.alive && Date.now() < deadline, `no version reply: ${proc.describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  // Without a certificate the handshake is refused.
  const refused = startWith(t, {}, 'openssl', ['s_client', '-quiet', '-CAfile', certs.files.ca, '-connect', `127.0.0.1:${mtls.gearmanPort}`]);
  refused.send('version');
  const exit = await refused.done(10_000);
  assert.notEqual(exit.code, 0);
  assert.ok(!refused.stdout.includes('OK 1.1.20'), refused.describe());
});

test('Perl Gearman::Client and Gearman::Worker over mutual TLS (use_ssl, ca_file, cert_file, key_file)', async (t) => {
  await need.perl();
  const env = { LAZARET_TLS_CA: certs.files.ca, LAZARET_TLS_CERT: certs.files.clientCert, LAZARET_TLS_KEY: certs.files.clientKey };
  startWith(t, env, 'perl', ['worker.pl', String(mtls.gearmanPort), 'perl_tls=reverse']);
  const client = startWith(t, env, 'perl', ['client.pl', String(mtls.gearmanPort), 'fg', 'perl_tls', 'secret']);
  client.child.stdin?.end();
  await client.event('done', {}, 20_000);
  assert.deepEqual(client.events(), [
    { event: 'complete', data: 'terces' },
    { event: 'done', ok: true },
  ]);
  // The same Perl client without its certificate gets nowhere.
  const bare = startWith(t, { LAZARET_TLS_CA: certs.files.ca }, 'perl', ['client.pl', String(mtls.gearmanPort), 'bg', 'perl_tls', 'x']);
  bare.child.stdin?.end();
  await bare.done(20_000);
  assert.equal(bare.events().length, 0, bare.describe());
});

test('TLS without a CA file: server authentication only; clients need no certificate', async (t) => {
  const server = await startTestServer({ ssl: true, sslCertificate: certs.files.serverCert, sslKey: certs.files.serverKey });
  t.after(() => server.dispose());
  assert.equal(server.gearmanPlainPort, null);
  const worker = new Worker({
    servers: [{ address: `127.0.0.1:${server.gearmanPort}`, tls: { ca: certs.pem.ca } }],
    functions: { up: (job) => job.payload.toString().toUpperCase() },
  });
  t.after(() => worker.stop({ graceMs: 0 }));
  await worker.start();
  const client = new Client({ servers: [{ address: `localhost:${server.gearmanPort}`, tls: { ca: certs.pem.ca } }] });
  t.after(() => client.close());
  assert.equal((await client.submit('up', 'tls')).toString(), 'TLS');
});

test('TLS settings: --ssl needs a certificate and a key; a CA file or a plain port need --ssl; unreadable files are named', async () => {
  assert.throws(() => loadConfig({ ssl: true }, {}, '/nonexistent'), /sslCertificate \(settings together\): is needed with ssl[\s\S]*sslKey/);
  assert.throws(() => loadConfig({ plainPort: 4000 }, {}, '/nonexistent'), /plainPort \(settings together\): only applies with ssl on/);
  const config = loadConfig(
    { ssl: true, sslCertificate: '/nonexistent/cert.pem', sslKey: certs.files.serverKey, port: 0, httpPort: 'off', db: ':memory:', logLevel: 'silent' },
    {},
    '/nonexistent',
  );
  assert.equal(config.ssl, true);
  await assert.rejects(
    startTestServer({ ssl: true, sslCertificate: '/nonexistent/cert.pem', sslKey: certs.files.serverKey }),
    /Cannot read the certificate \/nonexistent\/cert\.pem/,
  );
  await assert.rejects(startTestServer({ ssl: true, sslCertificate: certs.files.serverCert, sslKey: certs.files.clientKey }), /cannot be used/);
});
