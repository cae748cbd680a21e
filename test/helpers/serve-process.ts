// `lazaret serve` as a real process for tests: spawned from the sources (tsx), killed when the test ends,
// its output kept, and the ports it chose (it listens on port 0) read from its JSON "listening" log line.

import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually } from './wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServeProcess {
  child: ChildProcess;
  exited: Promise<Exited>;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
}

export interface ListeningServe extends ServeProcess {
  port: number;
  /** The HTTP port, or null when it was started with `--http-port off`. */
  httpPort: number | null;
}

/**
 * Spawns `lazaret serve --port 0 --log-level info` with `args` (HTTP off unless they name an
 * --http-port), without any LAZARET_* variable of ours.
 */
export function serve(t: TestContext, args: readonly string[]): ServeProcess {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LAZARET_')) env[k] = v;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'src/cli/main.ts',
      'serve',
      '--port',
      '0',
      '--log-level',
      'info',
      ...(args.includes('--http-port') ? [] : ['--http-port', 'off']),
      ...args,
    ],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
  const exited = new Promise<Exited>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  return { child, exited, output: () => out };
}

/** Spawns `lazaret serve` and waits until it listens. */
export async function serveListening(t: TestContext, args: readonly string[]): Promise<ListeningServe> {
  const s = serve(t, args);
  return eventually(
    async () => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) throw new Error(`server exited before listening:\n${s.output()}`);
      const gearman = /"gearman":"[^"]*:(\d+)"/.exec(s.output());
      if (gearman === null) return undefined;
      const http = /"http":"https?:\/\/[^"]*:(\d+)"/.exec(s.output());
      return { ...s, port: Number(gearman[1]), httpPort: http === null ? null : Number(http[1]) };
    },
    'the server to report its ports',
    30_000,
  );
}
