// The public surface of `lazaret/client` is tested like code: widening it is a reviewed change.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as api from '../../src/client/index.js';

const EXPORTS = [
  'CHECK_FUNCTION',
  'Client',
  'ClientError',
  'ClientErrorCode',
  'EVIDENCE_PREFIX',
  'EXIT_RECYCLE',
  'ForegroundJob',
  'JobError',
  'Worker',
  'encodeEvidence',
  'isClientError',
  'parseEvidence',
  'runWorker',
];

test('src/client/index.ts exports exactly the documented names', () => {
  assert.deepEqual(Object.keys(api).sort(), EXPORTS);
  assert.equal(api.CHECK_FUNCTION, 'lazaret.check');
  assert.equal(api.EXIT_RECYCLE, 75);
});

test('the package exports ./client from dist (npm run build first)', async () => {
  const dist = fileURLToPath(new URL('../../dist/client/index.js', import.meta.url));
  assert.ok(existsSync(dist), `${dist} is missing: run npm run build first`);
  const viaPackage = (await import('lazaret/client')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(viaPackage).sort(), EXPORTS);
});

test('client errors are LazaretErrors by brand, with stable codes', async () => {
  const { isLazaretError } = await import('../../src/errors.js');
  const err: unknown = new api.ClientError(api.ClientErrorCode.TIMEOUT, 'x');
  assert.ok(isLazaretError(err));
  assert.ok(api.isClientError(err, 'LAZ_TIMEOUT'));
});
