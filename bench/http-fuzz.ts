// A long run of the seeded HTTP fuzz (test/http/fuzz.test.ts): the same generator and checks, many more
// requests. Reports what it found; a failure prints the seed and request number to replay.
//
//   node --import tsx bench/http-fuzz.ts [requests=200000] [seed]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const requests = Number(process.argv[2] ?? 200_000);
const seed = process.argv[3];
const root = fileURLToPath(new URL('../', import.meta.url));
const started = Date.now();
const run = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-timeout', String(24 * 3_600_000), '--test-name-pattern', 'seeded HTTP fuzz', 'test/http/fuzz.test.ts'],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, LAZARET_HTTP_FUZZ_REQUESTS: String(requests), ...(seed === undefined ? {} : { LAZARET_FUZZ_SEED: seed }) },
  },
);
const seconds = (Date.now() - started) / 1000;
process.stdout.write(
  `\nhttp fuzz: ${requests} requests in ${seconds.toFixed(1)} s (${Math.round(requests / seconds)}/s), ${run.status === 0 ? 'no problem found' : 'PROBLEMS FOUND (see above)'}\n`,
);
process.exitCode = run.status ?? 1;
