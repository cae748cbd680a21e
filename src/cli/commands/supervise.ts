// `lazaret supervise`: keep worker programs running (docs/supervisor.md); `supervise status` and
// `supervise restart` find running supervisors through the state files in --state-dir.

import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { systemClock } from '../../supervisor/clock.js';
import { ErrorCode, LazaretError } from '../../errors.js';
import { processSpawner } from '../../supervisor/child.js';
import { DEFAULT_STATE_DIR, loadSupervisorConfig, type SuperviseFlags } from '../../supervisor/config.js';
import { describeExit } from '../../supervisor/program.js';
import { Reporter } from '../../supervisor/reporter.js';
import { processAlive, readStates, StateFile, type FoundState } from '../../supervisor/state-file.js';
import { Supervisor } from '../../supervisor/supervisor.js';
import { safe, safeJson, table } from '../format.js';
import type { CliIO } from '../io.js';

export async function runSupervise(command: string[], flags: SuperviseFlags, io: CliIO): Promise<number> {
  const config = loadSupervisorConfig(flags, command, io.env, hostname());
  const log = pino({ level: config.logLevel, base: { pid: process.pid, supervisor: config.id } });
  let state: StateFile;
  try {
    state = new StateFile(resolve(config.stateDir), config.id);
  } catch (err) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `Cannot use the state directory ${resolve(config.stateDir)}: ${(err as Error).message}`, {
      hint: 'give a writable directory with --state-dir (or "stateDir" in the config file)',
    });
  }
  const previous = readStates(state.dir).find((s) => s.file === state.path && s.status.pid !== process.pid);
  if (previous?.alive) {
    throw new LazaretError(
      ErrorCode.CONFIG_INVALID,
      `A supervisor with id "${config.id}" already runs (pid ${previous.status.pid}, state file ${previous.file})`,
      {
        hint: 'give this one another --id (or "id" in its config file), or another --state-dir',
      },
    );
  }
  warnLeftovers(previous, log);

  const supervisor = new Supervisor(config, {
    clock: systemClock,
    random: Math.random,
    spawn: processSpawner({ env: io.env, writeErr: io.err }),
    log,
    host: hostname(),
    pid: process.pid,
  });
  const reporter = new Reporter(config, { clock: systemClock, log, status: () => supervisor.status(), stuck: (copies) => supervisor.stuck(copies) });
  const writeState = (): void => state.schedule(() => supervisor.status());
  supervisor.onChange(() => {
    reporter.changed();
    writeState();
  });
  // Refreshes updatedAt, and keeps the process alive while every copy waits out a backoff (the
  // clock's timers do not).
  const heartbeat = setInterval(writeState, config.reportIntervalMs);

  const done = new Promise<number>((resolveDone) => {
    let stopping = false;
    const shutdown = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.info({ event: 'signal', signal }, `${signal}: already stopping; copies that ignore SIGTERM get SIGKILL after their stopGraceMs`);
        return;
      }
      stopping = true;
      log.info({ event: 'signal', signal }, `${signal}: stopping every program gracefully`);
      void supervisor.stop().then(async () => {
        clearInterval(heartbeat);
        await reporter.stop();
        state.remove();
        for (const [sig, fn] of handlers) process.off(sig, fn);
        resolveDone(0);
      });
    };
    const handlers: [NodeJS.Signals, () => void][] = [
      ['SIGTERM', () => shutdown('SIGTERM')],
      ['SIGINT', () => shutdown('SIGINT')],
      ['SIGHUP', () => void supervisor.rollingRestart()],
    ];
    for (const [sig, fn] of handlers) process.on(sig, fn);
  });

  supervisor.start();
  state.write(supervisor.status());
  reporter.start();
  return done;
}

/**
 * A predecessor killed with -9 could not stop its copies; they may still run and take jobs beside the
 * new ones. Only named, not killed: after a reboot those pids can belong to anything.
 */
function warnLeftovers(previous: FoundState | undefined, log: pino.Logger): void {
  if (previous === undefined) return;
  const pids = previous.status.programs.flatMap((p) => p.instances.flatMap((i) => (i.pid === null ? [] : [{ program: p.name, pid: i.pid }])));
  const alive = pids.filter(({ pid }) => processAlive(pid));
  if (alive.length === 0) return;
  log.warn(
    { event: 'leftovers', previousPid: previous.status.pid, copies: alive },
    `the previous supervisor (pid ${previous.status.pid}) was killed without stopping its copies; processes with their pids still run: ${alive.map((c) => `${c.program} ${c.pid}`).join(', ')}. Check them with ps and stop them if they are old workers`,
  );
}

// ------------------------------------------------------------------ status

export interface StatusFlags {
  stateDir?: string;
  json?: boolean;
}

function uptime(since: string | null, now: number): string {
  if (since === null) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

function findStates(stateDir: string | undefined, io: CliIO): { dir: string; states: FoundState[] } {
  const dir = resolve(stateDir ?? DEFAULT_STATE_DIR);
  const states = readStates(dir);
  if (states.length === 0) io.err(`no supervisor state in ${dir}: is \`lazaret supervise\` running with this --state-dir?\n`);
  return { dir, states };
}

export async function superviseStatus(flags: StatusFlags, io: CliIO): Promise<number> {
  const { states } = findStates(flags.stateDir, io);
  if (flags.json) {
    io.out(
      `${safeJson(
        states.map((s) => ({ ...s.status, alive: s.alive })),
        2,
      )}\n`,
    );
    return states.some((s) => s.alive) ? 0 : 1;
  }
  const now = Date.now();
  for (const { status: s, alive } of states) {
    const head = alive
      ? `supervisor ${s.id} (pid ${s.pid} on ${s.host}, up ${uptime(s.startedAt, now)}, reporting to ${s.server})${s.rollout.running ? ', rolling restart under way' : ''}`
      : `supervisor ${s.id} (pid ${s.pid}) is NOT running: it was killed without stopping its programs; its copies may still run`;
    const rows = s.programs.flatMap((p) =>
      p.instances.map((c) => {
        const last = p.lastExits[p.lastExits.length - 1];
        return [
          p.name,
          String(c.copy),
          c.pid === null ? (c.nextStartAt ? 'backoff' : '-') : String(c.pid),
          uptime(c.startedAt, now),
          String(p.restarts),
          String(p.recycled),
          p.flapping ? 'FLAPPING' : 'no',
          last ? `${describeExit(last)} ${uptime(last.at, now)} ago` : '-',
        ];
      }),
    );
    io.out(`${safe(head)}\n${table(['PROGRAM', 'COPY', 'PID', 'UPTIME', 'RESTARTS', 'RECYCLED', 'FLAPPING', 'LAST EXIT'], rows)}\n`);
  }
  return states.some((s) => s.alive) ? 0 : 1;
}

// ------------------------------------------------------------------ restart

export interface RestartFlags {
  stateDir?: string;
  id?: string;
  wait?: boolean;
  timeout?: string;
}

/** SIGHUP to each running supervisor, then (unless --no-wait) waits for its rolling restart to finish. */
export async function superviseRestart(flags: RestartFlags, io: CliIO): Promise<number> {
  const { dir, states } = findStates(flags.stateDir, io);
  const targets = states.filter((s) => s.alive && (flags.id === undefined || s.status.id === flags.id));
  if (targets.length === 0) {
    io.err(`no running supervisor${flags.id ? ` with id ${safe(flags.id)}` : ''} in ${safe(dir)}\n`);
    return 1;
  }
  const timeoutMs = flags.timeout === undefined ? 600_000 : Number(flags.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new LazaretError(ErrorCode.BAD_REQUEST, `--timeout must be a number of seconds, got "${flags.timeout}"`);
  let failed = 0;
  for (const target of targets) {
    const { id, pid, rollout } = target.status;
    // A rollout already under way finishes first, then the one asked for here runs.
    const until = rollout.finished + (rollout.running ? 2 : 1);
    // Checked again right before the signal: the supervisor may have ended since the file was read.
    const current = readStates(dir).find((s) => s.file === target.file);
    if (!current?.alive || current.status.pid !== pid) {
      io.err(`supervisor ${safe(String(id))}: pid ${pid} is no longer that supervisor; not signalled\n`);
      failed++;
      continue;
    }
    process.kill(pid, 'SIGHUP');
    io.out(`supervisor ${safe(String(id))} (pid ${pid}): rolling restart requested\n`);
    if (flags.wait === false) continue;
    const deadline = Date.now() + timeoutMs;
    let result: string | null = null;
    while (result === null) {
      // The state file is the only channel (no port): read it again after a short pause.
      await delay(100);
      const now = readStates(dir).find((s) => s.file === target.file);
      if (!now?.alive) result = 'supervisor stopped';
      else if (now.status.rollout.finished >= until) result = now.status.rollout.lastResult ?? 'failed';
      else if (Date.now() > deadline) result = `not finished after ${timeoutMs / 1000}s`;
    }
    io.out(`supervisor ${safe(String(id))}: rolling restart ${result === 'ok' ? 'finished, every copy replaced' : `FAILED: ${safe(result)}`}\n`);
    if (result !== 'ok') failed++;
  }
  return failed === 0 ? 0 : 1;
}
