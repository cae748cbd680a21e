// Keeps the error catalogue (src/errors.ts, src/client/errors.ts) and docs/errors.md equal.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ClientErrorCode } from '../src/client/errors.js';
import { ErrorCode, isLazaretError, LazaretError } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = [...doc.matchAll(/^\| `(LAZ_[A-Z_]+)` \|/gm)].map((m) => m[1]);

test('every error code is documented, and only those', () => {
  // The client library declares its own codes (it imports src/protocol only), from the same namespace.
  const codes = [...Object.values(ErrorCode), ...Object.values(ClientErrorCode)];
  assert.deepEqual([...documented].sort(), [...codes].sort());
});

test('each key names its code', () => {
  for (const [key, code] of Object.entries(ErrorCode)) assert.equal(code, `LAZ_${key}`);
});

test('LazaretError carries code, hint and cause, and is recognised across copies', () => {
  const cause = new Error('disk full');
  const err = new LazaretError(ErrorCode.STORE_FAILED, 'Could not write', { hint: 'free disk space', cause });
  assert.equal(err.code, 'LAZ_STORE_FAILED');
  assert.equal(err.hint, 'free disk space');
  assert.equal(err.cause, cause);
  assert.ok(isLazaretError(err, ErrorCode.STORE_FAILED));
  assert.ok(!isLazaretError(err, ErrorCode.NOT_FOUND));
  assert.ok(!isLazaretError(new Error('x')));
  // A LazaretError from another installed copy has the same brand.
  const foreign = Object.assign(new Error('x'), { [Symbol.for('lazaret.error')]: true, code: 'LAZ_NOT_FOUND' });
  assert.ok(foreign instanceof LazaretError);
});
