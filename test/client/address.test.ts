// Server addresses as users write them, and the reconnect backoff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServer, parseServers } from '../../src/client/address.js';
import { isClientError } from '../../src/client/errors.js';
import { backoffMs } from '../../src/client/pool.js';

test('addresses: host:port, gearman:// URLs, bare hosts and IPv6', () => {
  assert.deepEqual(parseServer('10.0.0.1:4731'), { host: '10.0.0.1', port: 4731, label: '10.0.0.1:4731', tls: null });
  assert.deepEqual(parseServer('gearman://jobs.internal'), { host: 'jobs.internal', port: 4730, label: 'jobs.internal:4730', tls: null });
  assert.deepEqual(parseServer('[::1]:4730'), { host: '::1', port: 4730, label: '[::1]:4730', tls: null });
  assert.deepEqual(
    parseServers('a:1, b:2').map((s) => s.label),
    ['a:1', 'b:2'],
  );
  assert.deepEqual(
    parseServers(undefined).map((s) => s.label),
    ['127.0.0.1:4730'],
  );
  for (const bad of ['a:0', 'a:70000', 'a:b:c', '']) {
    assert.throws(
      () => parseServers([bad]),
      (err) => isClientError(err, 'LAZ_INVALID_ARGUMENT'),
      bad,
    );
  }
});

test('TLS per server: objects carry their own options; a client-wide tls applies to plain strings', () => {
  const ca = 'PEM';
  assert.deepEqual(
    parseServers(['a:1', { address: 'b:2', tls: { ca } }, { address: 'c:3', tls: true }]).map((s) => s.tls),
    [null, { ca }, {}],
  );
  assert.deepEqual(
    parseServers(['a:1', { address: 'b:2', tls: false }], { ca }).map((s) => s.tls),
    [{ ca }, null],
  );
  assert.deepEqual(
    parseServers('a:1,b:2', true).map((s) => s.tls),
    [{}, {}],
  );
});

test('backoff doubles from the base up to the cap, jittered over [d/2, d]', () => {
  const b = { baseMs: 100, capMs: 1000 };
  assert.equal(
    backoffMs(1, b, () => 1),
    100,
  );
  assert.equal(
    backoffMs(1, b, () => 0),
    50,
  );
  assert.equal(
    backoffMs(3, b, () => 1),
    400,
  );
  assert.equal(
    backoffMs(10, b, () => 1),
    1000,
  );
  assert.equal(
    backoffMs(1000, b, () => 0),
    500,
  );
});
