// Starts the servers under test as child processes, each on a free port with a fresh store in a temp
// folder, and stops every one of them: at the end of its case, and on any error or Ctrl-C of the bench.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { sleep } from './peer.js';

/** 'lazaret' runs the default config (synchronous: full); 'lazaret-normal' the same with synchronous: normal. */
export type ServerKind = 'lazaret' | 'lazaret-normal' | 'gearmand' | 'gearmand-sqlite';

export const SERVER_LABEL: Record<ServerKind, string> = {
  lazaret: 'Lazaret',
  'lazaret-normal': 'Lazaret normal',
  gearmand: 'gearmand mem',
  'gearmand-sqlite': 'gearmand+sqlite',
};

export interface LazaretEntry {
  /** Node arguments that run `lazaret` (before `serve ...`). */
  args: string[];
  describe: string;
}

/**
 * The shipped form, dist/cli/main.js, rebuilt first (`npm run build`'s tsc) when it is missing or older
 * than src/; the TypeScript source through tsx when asked, or when that build fails. The tsx loader adds
 * some 40 MiB to the server's RSS, so dist/ is what the memory figure should be read on.
 */
export function lazaretEntry(root: string, force?: 'dist' | 'src', onBuild: () => void = () => undefined): LazaretEntry {
  const dist = join(root, 'dist/cli/main.js');
  const fromSource: LazaretEntry = { args: ['--import', 'tsx', join(root, 'src/cli/main.ts')], describe: 'node --import tsx src/cli/main.ts' };
  const fromDist: LazaretEntry = { args: [dist], describe: 'node dist/cli/main.js' };
  if (force === 'src') return fromSource;
  if (force === 'dist' || (existsSync(dist) && newestSource(root) <= statSync(dist).mtimeMs)) return fromDist;
  onBuild();
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (tsc.status === 0 && existsSync(dist)) return { ...fromDist, describe: `${fromDist.describe} (rebuilt now: dist/ was missing or older than src/)` };
  const why = `${tsc.stdout ?? ''}${tsc.stderr ?? ''}`.trim().split('\n')[0] ?? '';
  return { ...fromSource, describe: `${fromSource.describe} (building dist/ failed: ${why})` };
}

function newestSource(root: string): number {
  return (readdirSync(join(root, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') || f.endsWith('.sql'))
    .reduce((max, f) => Math.max(max, statSync(join(root, 'src', f)).mtimeMs), 0);
}

export function findOnPath(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return null;
}

export function gearmandVersion(bin: string): string {
  const out = spawnSync(bin, ['-V'], { encoding: 'utf8' });
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.trim().split('\n')[0] ?? 'unknown version';
}

export interface ServerHandle {
  readonly kind: ServerKind;
  readonly port: number;
  /** Lazaret's HTTP port when the case asked for it, else null. */
  readonly httpPort: number | null;
  readonly pid: number;
  /** What the process logged, for error messages. */
  logTail(): string;
  stop(): Promise<void>;
  /** SIGKILL, as a crash or a power cut would: no shutdown code runs. Resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface LaunchSettings {
  root: string;
  /** Folder for this case's store, config and logs (fresh per case). */
  dir: string;
  lazaret: LazaretEntry;
  gearmand: string | null;
  /** Write a V8 CPU profile of Lazaret here (stopping then waits for the profile). */
  profileDir: string | null;
  profileName: string;
  /** The lazaret.json to use; an empty config by default (never the one in the current folder). */
  lazaretConfig?: object;
  /** Lazaret with its HTTP side on (a free port); off by default. */
  http?: boolean;
  /** How long the server may take to listen (default 30 s; a server replaying a large queue takes longer). */
  listenTimeoutMs?: number;
  /**
   * Lazaret on a PostgreSQL store instead of SQLite: `node` names it there (each node on one store
   * needs its own name, and the default is the host name, which every node on this machine shares).
   */
  postgres?: { url: string; schema: string; node: string };
}

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const child of live) child.kill('SIGKILL');
      process.exit(130);
    });
  }
}

/** A free port below 32768 (ports above can be taken by outgoing connections of other programs). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const srv = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) {
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      return port;
    }
  }
  throw new Error('no free port found between 20000 and 32000');
}

export async function startServer(kind: ServerKind, s: LaunchSettings): Promise<ServerHandle> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(kind, s, await freePort());
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

async function launch(kind: ServerKind, s: LaunchSettings, port: number): Promise<ServerHandle> {
  const { handle, child } = await spawnServer(kind, s, port);
  try {
    await waitListening(port, child, s.listenTimeoutMs ?? 30000);
    // The HTTP side starts after the Gearman port: a case must not meet it half ready.
    if (handle.httpPort !== null) await waitListening(handle.httpPort, child, 30000);
  } catch (err) {
    await handle.stop();
    throw new Error(`${kind} did not start: ${(err as Error).message}\n${handle.logTail()}`);
  }
  return handle;
}

/**
 * Starts the server on a given port (its store in s.dir, as launch does) and returns at once, without
 * waiting for it to listen: the restart workload times the way from here to its first job itself.
 */
export async function spawnServer(kind: ServerKind, s: LaunchSettings, port: number): Promise<{ handle: ServerHandle; child: ChildProcess }> {
  hookExit();
  mkdirSync(s.dir, { recursive: true });
  const logFile = join(s.dir, `${kind}.log`);
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  const isLazaret = kind === 'lazaret' || kind === 'lazaret-normal';
  const profiling = isLazaret && s.profileDir !== null;
  const httpPort = isLazaret && s.http ? await freePort() : null;
  if (isLazaret) {
    const config = join(s.dir, 'lazaret.json');
    writeFileSync(config, JSON.stringify({ ...s.lazaretConfig, ...(kind === 'lazaret-normal' ? { synchronous: 'normal' } : {}) }));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LAZARET_') && k !== 'NODE_OPTIONS'));
    const prof = profiling ? ['--cpu-prof', '--cpu-prof-dir', s.profileDir!, '--cpu-prof-name', `${s.profileName}.cpuprofile`] : [];
    const pg = s.postgres;
    const args = [
      ...prof,
      ...s.lazaret.args,
      'serve',
      '--port',
      String(port),
      '--http-port',
      httpPort === null ? 'off' : String(httpPort),
      ...(pg === undefined ? ['--db', join(s.dir, 'lazaret.db')] : ['--store', pg.url, '--store-schema', pg.schema, '--node', pg.node]),
      '--log-level',
      'warn',
      '--config',
      config,
    ];
    child = spawn(process.execPath, args, { cwd: s.root, env, stdio: ['ignore', log, log] });
  } else {
    if (s.gearmand === null) throw new Error('gearmand is not installed');
    const args = ['-p', String(port), '-L', '127.0.0.1', '--log-file', 'none', '-P', join(s.dir, 'gearmand.pid')];
    if (kind === 'gearmand-sqlite') args.push('-q', 'libsqlite3', '--libsqlite3-db', join(s.dir, 'gearmand.db'));
    child = spawn(s.gearmand, args, { cwd: s.dir, stdio: ['ignore', log, log] });
  }
  closeSync(log);
  live.add(child);
  const exited = once(child, 'exit').then(() => {
    live.delete(child);
  });
  const logTail = (): string => {
    try {
      return readFileSync(logFile, 'utf8').slice(-2000).trim();
    } catch {
      return '';
    }
  };
  const handle: ServerHandle = {
    kind,
    port,
    httpPort,
    pid: child.pid ?? -1,
    logTail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (profiling) {
        // The profile is written on a normal exit only: stop gracefully, then (second signal) at once.
        child.kill('SIGTERM');
        if (await within(exited, 2000)) return;
        child.kill('SIGTERM');
        if (await within(exited, 20000)) return;
      }
      child.kill('SIGKILL');
      await within(exited, 5000);
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await within(exited, 10000);
    },
  };
  return { handle, child };
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const done = await Promise.race([p.then(() => true), timeout]);
  clearTimeout(timer);
  return done;
}

async function waitListening(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`it exited (${child.exitCode ?? child.signalCode})`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ port, host: '127.0.0.1' });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`port ${port} not listening after ${timeoutMs} ms`);
}

export interface MemoryStatus {
  rssKiB: number;
  hwmKiB: number;
}

/** VmRSS and VmHWM (peak RSS) of a process, from /proc (Linux). */
export function memoryOf(pid: number): MemoryStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}
