// Seeded fuzzing of the HTTP port over real sockets: random routes (every registered one, mutated and
// re-encoded), methods, query strings, headers and bodies, with and without the token, while real jobs
// flow through Gearman to a healthy worker. The server must stay up, never answer 500 nor show a file
// path or a stack in any answer, and keep serving jobs.
// LAZARET_HTTP_FUZZ_REQUESTS sets the run's size (bench/http-fuzz.ts runs a large one), LAZARET_FUZZ_SEED
// replays a reported seed.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { routeTable } from '../../src/http/auth.js';
import { RawPeer, rawWorker } from '../helpers/gearman-client.js';
import { startTestServer } from '../helpers/server.js';
import { prng, randInt } from '../helpers/vectors.js';
import { httpSideFor } from './helpers.js';

const REQUESTS = Number(process.env.LAZARET_HTTP_FUZZ_REQUESTS ?? 1500);
const SEED = Number(process.env.LAZARET_FUZZ_SEED ?? 0x4877_f022);
const PARALLEL = 8;
const TOKEN = 'fuzzing-admin-token-0123456789';
const REAL_FN = 'real-http-work-5b1e';

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'get', 'FOO'];
const WORDS = [
  'x',
  '1',
  '0',
  '-1',
  '99999999999999999999',
  'H:test:1',
  'H:test:999999',
  '..',
  '.',
  '%00',
  '%ZZ',
  '%',
  '%2F',
  '%252F',
  '\u00e9',
  '%C3%A9',
  '%FF%FE',
  'a'.repeat(300),
  '__proto__',
  'constructor',
  'null',
  'undefined',
  '[]',
  '{}',
  ' ',
  '%20',
  ';',
  '*',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=ebcdic',
  'garbage',
  '',
];
const VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e300,
  -1e300,
  2 ** 53,
  '',
  'x',
  'resize',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '+275760-09-13T00:00:00Z',
  'not a date',
  [],
  [1, 'a'],
  {},
  { a: 1 },
  'a'.repeat(1000),
];
const KEYS = [
  'function',
  'payload',
  'payloadBase64',
  'priority',
  'unique',
  'runAt',
  'deadline',
  'tags',
  'all',
  'ids',
  'reason',
  'since',
  'before',
  'olderThan',
  'limit',
  'programs',
  'host',
  'pid',
  '__proto__',
  'constructor',
];

function randomPath(rand: Rand, routes: readonly string[]): string {
  if (rand() < 0.1) return `/${pick(rand, WORDS)}/${pick(rand, WORDS)}`;
  let path = pick(rand, routes)
    .replace(/:[A-Za-z_]+/g, () => encodeURIComponent(pick(rand, WORDS)).replace(/%25/g, rand() < 0.5 ? '%' : '%25'))
    .replace(/\*$/, pick(rand, WORDS));
  switch (randInt(rand, 0, 7)) {
    case 0:
      path = path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`);
      break;
    case 1:
      path = path.replace('/', '//');
      break;
    case 2:
      path = `${path}/${pick(rand, ['..', '.', '', '%2e%2e'])}`;
      break;
    case 3:
      path = path.toUpperCase();
      break;
    default:
      break;
  }
  if (rand() < 0.4) {
    const pairs = Array.from(
      { length: randInt(rand, 1, 4) },
      () => `${pick(rand, [...KEYS, 'minutes', 'waitedLongerThan', 'by', 'tag'])}=${pick(rand, WORDS)}`,
    );
    path += `?${pairs.join('&')}`;
  }
  return path;
}

function randomJson(rand: Rand, depth = 0): unknown {
  if (depth > 2 || rand() < 0.5) return pick(rand, VALUES);
  if (rand() < 0.3) return Array.from({ length: randInt(rand, 0, 4) }, () => randomJson(rand, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = randInt(rand, 0, 5); i > 0; i--) out[pick(rand, KEYS)] = randomJson(rand, depth + 1);
  return out;
}

function randomBody(rand: Rand): Buffer | undefined {
  switch (randInt(rand, 0, 6)) {
    case 0:
      return undefined;
    case 1: {
      const text = JSON.stringify(randomJson(rand));
      // Cut or corrupt some of them.
      return Buffer.from(rand() < 0.2 ? text.slice(0, randInt(rand, 0, text.length)) : text);
    }
    case 2:
      return Buffer.from(
        JSON.stringify({
          function: pick(rand, ['fz', REAL_FN.slice(0, 3), '', 'a'.repeat(600)]),
          payload: pick(rand, ['', 'x', 'a'.repeat(5000)]),
          runAt: pick(rand, VALUES),
          tags: pick(rand, VALUES),
        }),
      );
    case 3:
      return Buffer.from(Array.from({ length: randInt(rand, 0, 2000) }, () => randInt(rand, 0, 255)));
    case 4:
      return Buffer.from('{"a":'.repeat(randInt(rand, 1, 3000)));
    case 5:
      return Buffer.alloc(randInt(rand, 0, 70_000), 0x7b);
    default:
      return Buffer.from(JSON.stringify({ all: true }));
  }
}

function randomHeaders(rand: Rand, body: Buffer | undefined): Record<string, string> {
  const h: Record<string, string> = {};
  if (rand() < 0.6) h.authorization = pick(rand, [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, 'Bearer wrong', `Basic ${TOKEN}`, 'Bearer', '']);
  if (body !== undefined || rand() < 0.2) h['content-type'] = pick(rand, CONTENT_TYPES);
  if (rand() < 0.2) h.origin = pick(rand, ['http://evil.example', 'null', 'http://127.0.0.1', '%%%']);
  if (rand() < 0.2) h.host = pick(rand, ['localhost', 'rebind.example', '127.0.0.1:1', '[::1]', 'a'.repeat(200)]);
  if (rand() < 0.2) h.accept = pick(rand, ['text/event-stream', '*/*', 'application/json', 'image/png']);
  if (rand() < 0.1) h['accept-encoding'] = pick(rand, ['gzip', 'br', 'identity;q=0', 'x']);
  if (rand() < 0.1) h.range = pick(rand, ['bytes=0-1', 'bytes=99999999-', 'bytes=a-b']);
  if (rand() < 0.1) h['if-none-match'] = pick(rand, ['*', '"x"']);
  if (rand() < 0.1) h['x-forwarded-for'] = '1.2.3.4';
  return h;
}

interface Answer {
  status: number;
  text: string;
}

/** One request; streams are cut after a moment (an event stream of a live job never ends by itself). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<Answer | null> {
  return new Promise((resolve) => {
    const all = body === undefined ? headers : { ...headers, 'content-length': String(body.length) };
    let req;
    try {
      req = request({ host: '127.0.0.1', port, method, path, headers: all, timeout: 3000 }, (res) => {
        let text = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => {
          if (text.length < 100_000) text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, text }));
        if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) setTimeout(() => res.destroy(), 50);
      });
    } catch {
      // node:http refused to send it (invalid characters): nothing reached the server.
      resolve(null);
      return;
    }
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end(body);
  });
}

const LEAKS = [/\/(?:work|home|tmp|usr|var|root|src|dist|node_modules)\/[\w.-]+/, /\bat [\w.<>]+ \(/, /\.(?:ts|js|mjs):\d+/, /SQLITE_\w+/, /\bstack\b/i];

test('seeded HTTP fuzz: no 500, nothing internal in any answer, jobs keep flowing', async (t) => {
  const server = await startTestServer({ adminToken: TOKEN, http: { corsOrigins: ['https://app.example.com'], maxEventStreams: 50 } });
  t.after(() => server.dispose());
  const http = await httpSideFor(t, server);
  const routes = [...new Set(routeTable(http.app).map((r) => r.url))];

  const worker = await rawWorker(server.gearmanPort, REAL_FN, (payload) => Buffer.concat([Buffer.from('done:'), payload]));
  t.after(() => worker.close());
  const client = await RawPeer.connect(server.gearmanPort);
  t.after(() => client.close());
  const realJob = async (i: number): Promise<void> => {
    const created = await client.request('SUBMIT_JOB', [REAL_FN, '', `job-${i}`], 'JOB_CREATED');
    const done = await client.next('WORK_COMPLETE', 10_000);
    assert.equal(done.text[0], created.text[0]);
    assert.equal(done.text[1], `done:job-${i}`);
  };

  const problems: string[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const fuzzer = async (lane: number): Promise<void> => {
    const rand = prng(SEED + lane);
    while (next < REQUESTS) {
      const n = next++;
      // Some requests are well-formed but for their values, to reach deep into the handlers.
      const aimed = rand() < 0.2;
      const method = aimed
        ? pick(rand, ['POST', 'PUT', 'DELETE'])
        : rand() < 0.8
          ? pick(rand, ['GET', 'GET', 'POST', 'PUT', 'DELETE', 'HEAD'])
          : pick(rand, METHODS);
      const path = aimed
        ? pick(rand, ['/api/jobs', '/api/jobs', '/api/quarantine/requeue', '/api/quarantine/purge', '/api/supervisors/fz', '/api/quarantine/1/payload'])
        : randomPath(rand, routes);
      let body = ['GET', 'HEAD'].includes(method) && rand() < 0.8 ? undefined : randomBody(rand);
      if (aimed) {
        const value = randomJson(rand, 1);
        const object = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
        body = Buffer.from(JSON.stringify(path === '/api/jobs' ? { ...object, function: pick(rand, ['fz-a', 'fz-b']) } : object));
      }
      const headers = aimed ? { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } : randomHeaders(rand, body);
      const answer = await send(http.port, method, path, headers, body);
      if (answer === null) continue;
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      const what = `#${n} (seed ${SEED}, lane ${lane}) ${method} ${path.slice(0, 120)} ${aimed ? body!.toString().slice(0, 200) : ''} -> ${answer.status}`;
      if (answer.status >= 500 && answer.status !== 503) problems.push(`${what}: ${answer.text.slice(0, 200)}`);
      const leak = LEAKS.find((re) => re.test(answer.text) && !path.includes('openapi'));
      if (leak && answer.status >= 400) problems.push(`${what} shows ${leak}: ${answer.text.slice(0, 200)}`);
    }
  };
  const real = (async () => {
    for (let i = 0; i < 20; i++) await realJob(i);
  })();
  await Promise.all([...Array.from({ length: PARALLEL }, (_, lane) => fuzzer(lane)), real]);

  assert.deepEqual(problems, [], `statuses: ${JSON.stringify([...statuses])}`);
  assert.ok(
    [...statuses.keys()].some((s) => s >= 200 && s < 300),
    'some requests were served',
  );
  assert.ok(
    [...statuses.keys()].some((s) => s >= 400),
    'some requests were refused',
  );
  // Still up and still serving jobs.
  const health = await send(http.port, 'GET', '/health', {}, undefined);
  assert.ok(health !== null && (health.status === 200 || health.status === 503) && JSON.parse(health.text).checks.length > 0);
  for (let i = 100; i < 105; i++) await realJob(i);
  t.diagnostic(`${REQUESTS} requests, statuses ${JSON.stringify([...statuses].sort((a, b) => a[0] - b[0]))}`);
});

// Found by this fuzz (seed 1215819810, 20,000 requests): a deadline of 1e300 reached the store and failed
// the whole group commit with a 500 naming the database file.
test('times past the year 9999 are refused before they reach the store', async (t) => {
  const server = await startTestServer({ httpPort: 0 });
  t.after(() => server.dispose());
  for (const body of [{ deadline: 1e300 }, { runAt: 1e300 }, { runAt: 253_402_300_800_000 }, { deadline: '+275760-09-13T00:00:00Z' }, { runAt: 1.5 }]) {
    const text = JSON.stringify({ function: 'far', ...body });
    const answer = await send(server.httpPort!, 'POST', '/api/jobs', { 'content-type': 'application/json' }, Buffer.from(text));
    assert.equal(answer?.status, 400, text);
    assert.equal(JSON.parse(answer!.text).error.code, 'LAZ_BAD_REQUEST');
  }
  const latest = await send(
    server.httpPort!,
    'POST',
    '/api/jobs',
    { 'content-type': 'application/json' },
    Buffer.from(JSON.stringify({ function: 'far', runAt: '9999-12-31T23:59:59.999Z' })),
  );
  assert.equal(latest?.status, 201);
});
