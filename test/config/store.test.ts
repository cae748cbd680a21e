// The store a node uses: the SQLite file `db` unless `store` names a PostgreSQL server (with its schema
// in `storeSchema`); from the config file, the environment or flags, checked at start without ever
// repeating a URL (it may carry a password).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { isLazaretError } from '../../src/errors.js';
import { storeFor } from '../../src/server.js';
import type { PostgresStore } from '../../src/storage/postgres/store.js';

function emptyDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'laz-store-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const invalid = (pattern: RegExp) => (err: unknown) =>
  isLazaretError(err) && err.code === 'LAZ_CONFIG_INVALID' && pattern.test(err.message) && !err.message.includes('s3cret');

test('SQLite by default; a PostgreSQL URL from the file, the environment or a flag (later wins), schema lazaret unless given', (t) => {
  const cwd = emptyDir(t);
  const sqlite = loadConfig({}, {}, cwd);
  assert.equal(sqlite.store, null);
  assert.equal(sqlite.storeSchema, 'lazaret');
  assert.equal(storeFor(sqlite).name, 'sqlite');

  writeFileSync(join(cwd, 'lazaret.json'), JSON.stringify({ store: 'postgres://file@db1/lz', storeSchema: 'from_file' }));
  const file = loadConfig({}, {}, cwd);
  assert.deepEqual([file.store, file.storeSchema], ['postgres://file@db1/lz', 'from_file']);
  const env = loadConfig({}, { LAZARET_STORE: 'postgresql://env:pw@db2:5433/lz', LAZARET_STORE_SCHEMA: 'from_env' }, cwd);
  assert.deepEqual([env.store, env.storeSchema], ['postgresql://env:pw@db2:5433/lz', 'from_env']);
  const flag = loadConfig({ store: 'postgres://flag@db3/lz', storeSchema: 'from_flag' }, { LAZARET_STORE: 'postgres://env@db2/lz' }, cwd);
  assert.deepEqual([flag.store, flag.storeSchema], ['postgres://flag@db3/lz', 'from_flag']);
  const store = storeFor(env);
  assert.equal(store.name, 'postgres');
  assert.equal(store.capabilities.shared, true);
  assert.equal(store.describe(), 'postgresql://env@db2:5433/lz (schema from_env)');

  writeFileSync(join(cwd, 'lazaret.json'), JSON.stringify({ store: null }));
  assert.equal(loadConfig({}, {}, cwd).store, null);
});

test('a store that is not a PostgreSQL URL, or a schema that is not a plain name, is refused without repeating a password', (t) => {
  const cwd = emptyDir(t);
  assert.throws(() => loadConfig({ store: 'mysql://root:s3cret@db/x' }, {}, cwd), invalid(/store \(command line\): must be a PostgreSQL URL.*"mysql:"/));
  assert.throws(() => loadConfig({ store: 'host=db password=s3cret' }, {}, cwd), invalid(/does not parse as a URL/));
  assert.throws(() => loadConfig({}, { LAZARET_STORE: 'http://u:s3cret@db/x' }, cwd), invalid(/store \(environment\): must be a PostgreSQL URL/));
  writeFileSync(join(cwd, 'lazaret.json'), JSON.stringify({ store: 5 }));
  assert.throws(() => loadConfig({}, {}, cwd), invalid(/store \(config file .*\): must be a PostgreSQL URL/));
  rmSync(join(cwd, 'lazaret.json'));
  for (const schema of ['Lazaret', '1abc', 'a-b', 'x'.repeat(64)]) {
    assert.throws(() => loadConfig({ storeSchema: schema }, {}, cwd), invalid(/storeSchema \(command line\): must be a plain schema name/), schema);
  }
  assert.equal(loadConfig({ storeSchema: `_${'x'.repeat(62)}` }, {}, cwd).storeSchema.length, 63);
});

test('cluster.node (file, LAZARET_NODE, --node; default the host name) and cluster.leaseMs reach the store; bad values are refused', (t) => {
  const cwd = emptyDir(t);
  const plain = loadConfig({}, {}, cwd);
  assert.equal(plain.cluster.node, hostname());
  assert.equal(plain.cluster.leaseMs, 30_000);

  writeFileSync(join(cwd, 'lazaret.json'), JSON.stringify({ store: 'postgres://file@db1/lz', cluster: { node: 'from-file', leaseMs: '2s' } }));
  const file = loadConfig({}, {}, cwd);
  assert.deepEqual(file.cluster, { node: 'from-file', leaseMs: 2000 });
  assert.equal(loadConfig({}, { LAZARET_NODE: 'from-env' }, cwd).cluster.node, 'from-env');
  assert.equal(loadConfig({ node: 'from.flag_1' }, { LAZARET_NODE: 'from-env' }, cwd).cluster.node, 'from.flag_1');
  const store = storeFor(file) as PostgresStore;
  assert.equal(store.holder.owner, 'from-file');
  assert.equal(store.leaseMs, 2000);

  assert.throws(() => loadConfig({ node: 'two words' }, {}, cwd), invalid(/cluster\.node/));
  assert.throws(() => loadConfig({}, { LAZARET_NODE: '-x' }, cwd), invalid(/cluster\.node/));
  for (const leaseMs of [100, '10h', 'soon']) {
    writeFileSync(join(cwd, 'lazaret.json'), JSON.stringify({ cluster: { leaseMs } }));
    assert.throws(() => loadConfig({}, {}, cwd), invalid(/cluster\.leaseMs/), String(leaseMs));
  }
  writeFileSync(join(cwd, 'lazaret.json'), JSON.stringify({ cluster: { nodes: 3 } }));
  assert.throws(() => loadConfig({}, {}, cwd), invalid(/cluster\.nodes/));
});
