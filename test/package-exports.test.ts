// The package's public entry points are `lazaret/client` and the `lazaret` command; every other module is
// internal and free to move. Widening `exports` is a reviewed change: this test pins it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, unknown>;
  bin: Record<string, string>;
};

test('package.json exports only the client library and package.json', () => {
  assert.deepEqual(Object.keys(pkg.exports).sort(), ['./client', './package.json']);
  assert.deepEqual(pkg.bin, { lazaret: 'dist/cli/main.js' });
});

test('an internal module cannot be imported through the package name', async () => {
  await assert.rejects(import('lazaret/dist/server.js' as string), (err: NodeJS.ErrnoException) => err.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});
