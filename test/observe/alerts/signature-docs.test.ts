// The receiver code in docs/observability.md ("Checking the signature"), run as written: Node's and PHP's
// check accept a real delivery, and refuse the same request replayed later and a tampered body.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { AlertOutbox } from '../../../src/observe/alerts/outbox.js';
import { ManualClock, systemClock, type Clock } from '../../../src/core/clock.js';
import { SqliteStore } from '../../../src/storage/sqlite/store.js';
import { REPO_ROOT } from '../../quarantine/helpers.js';
import { receiver, type Received } from './receiver.js';

const SECRET = 'docs-secret';

async function snippets(): Promise<{ js: string; php: string }> {
  const doc = await readFile(join(REPO_ROOT, 'docs/observability.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Checking the signature'));
  const block = (lang: string): string => {
    const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section);
    assert.ok(m, `a ${lang} block in "Checking the signature"`);
    return m[1]!;
  };
  return { js: block('js'), php: block('php') };
}

/** One real delivery to a receiver, signed at the outbox clock's time. */
async function deliver(t: TestContext, clock: Clock): Promise<Received> {
  const hook = await receiver(t);
  const store = new SqliteStore({ path: ':memory:' });
  await store.open();
  const outbox = new AlertOutbox(store, [{ url: hook.url, secret: SECRET, events: ['health.failed'] }], {
    clock,
    log: pino({ level: 'silent' }),
    retryForMs: 60_000,
    undeliveredAfterMs: 60_000,
  });
  await outbox.start();
  t.after(async () => {
    outbox.close();
    await store.close();
  });
  const delivered = once(outbox, 'alert:delivered');
  await outbox.raise('health.failed', 'd-1', JSON.stringify({ event: 'health.failed', note: 'ünïcode' }));
  await delivered;
  return hook.got[0]!;
}

test('the documented Node and PHP checks accept a delivery, refuse a replay and a tampered body', async (t) => {
  const { js, php } = await snippets();
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-sig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'verify.mjs'), `${js}\nexport { verify };\n`);
  const { verify } = (await import(pathToFileURL(join(dir, 'verify.mjs')).href)) as { verify: (s: string, h: string | undefined, b: string) => boolean };
  await writeFile(
    join(dir, 'verify.php'),
    `${php}\necho lazaret_verify(getenv('SECRET'), getenv('HEADER'), file_get_contents('php://stdin')) ? 'ok' : 'refused';\n`,
  );
  const phpVerify = async (header: string, body: string): Promise<string> => {
    const child = execFile('php', [join(dir, 'verify.php')], { env: { ...process.env, SECRET, HEADER: header } });
    child.stdin!.end(body);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await once(child, 'close');
    return out.trim();
  };

  const fresh = await deliver(t, systemClock);
  const header = String(fresh.headers['x-lazaret-signature']);
  assert.equal(verify(SECRET, header, fresh.raw), true);
  assert.equal(await phpVerify(header, fresh.raw), 'ok');

  const tampered = fresh.raw.replace('health.failed', 'health.recovered');
  assert.equal(verify(SECRET, header, tampered), false);
  assert.equal(await phpVerify(header, tampered), 'refused');

  // A request captured long ago (signed at 2026-01-01) and sent again now: the signature is valid, its time is not.
  const old = await deliver(t, new ManualClock(Date.UTC(2026, 0, 1)));
  const oldHeader = String(old.headers['x-lazaret-signature']);
  assert.match(oldHeader, new RegExp(`^t=${Date.UTC(2026, 0, 1) / 1000},`));
  assert.equal(verify(SECRET, oldHeader, old.raw), false);
  assert.equal(await phpVerify(oldHeader, old.raw), 'refused');
});
