// The supervisor's settings: a JSON file (`--config supervise.json`) or one program from the command
// line (`--copies N -- COMMAND ARGS…`), then the environment, then flags. Validated once; every
// problem is listed with where it came from (docs/supervisor.md has the reference).

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseDuration } from '../duration.js';
import { ErrorCode, LazaretError } from '../errors.js';
import { readSecretFile } from '../token-file.js';

export interface ProgramConfig {
  name: string;
  /** An argv array is run as is; a string is run by /bin/sh -c. */
  command: string[] | string;
  copies: number;
  /** Added to the supervisor's own environment. */
  env: Record<string, string>;
  cwd: string | null;
  /** Between SIGTERM and SIGKILL when a copy is stopped, ms. */
  stopGraceMs: number;
  /** A copy running longer is recycled (hang detection), ms; null = no limit. */
  maxRuntimeMs: number | null;
  /** A copy the server reports stuck (in a job past its timeout) this long is killed and restarted, ms; null = never. */
  killStuckAfterMs: number | null;
  backoff: { initialMs: number; maxMs: number };
  /** A copy that ran this long counts as stable: its backoff resets and flapping ends, ms. */
  stableAfterMs: number;
  /** This many copies dying before stableAfterMs within windowMs = flapping. */
  flapping: { exits: number; windowMs: number };
}

export interface SupervisorConfig {
  id: string;
  /** The Lazaret HTTP URL reports go to. */
  server: string;
  token: string | null;
  /** PEM file of the CA that signed an https:// server's certificate. */
  caFile?: string | null;
  reportIntervalMs: number;
  stateDir: string;
  /** Rolling restart: how long a new copy must stay up before the next copy is replaced, ms. */
  settleMs: number;
  logLevel: string;
  programs: ProgramConfig[];
}

export const DEFAULT_SERVER = 'http://127.0.0.1:4731';
/** Past its job's timeout already: a minute more, and the copy is not coming back by itself. */
export const DEFAULT_KILL_STUCK_AFTER_MS = 60_000;
export const DEFAULT_STATE_DIR = './data/supervise';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const NAME = /^[A-Za-z0-9_.:@-]{1,100}$/;
const INTERPRETERS = new Set(['php', 'perl', 'python', 'python3', 'node', 'ruby', 'sh', 'bash', 'npx', 'tsx']);

/** Flags as the CLI parsed them; undefined = not given. */
export interface SuperviseFlags {
  config?: string;
  id?: string;
  server?: string;
  token?: string;
  tokenFile?: string;
  caFile?: string;
  stateDir?: string;
  reportInterval?: string;
  settle?: string;
  logLevel?: string;
  // The one-program form:
  name?: string;
  copies?: string;
  stopGrace?: string;
  maxRuntime?: string;
  killStuckAfter?: string;
  backoffInitial?: string;
  backoffMax?: string;
  stableAfter?: string;
}

const PROGRAM_FLAGS = ['name', 'copies', 'stopGrace', 'maxRuntime', 'killStuckAfter', 'backoffInitial', 'backoffMax', 'stableAfter'] as const;

export function programDefaults(name: string, command: string[] | string): ProgramConfig {
  return {
    name,
    command,
    copies: 1,
    env: {},
    cwd: null,
    stopGraceMs: 10_000,
    maxRuntimeMs: null,
    killStuckAfterMs: DEFAULT_KILL_STUCK_AFTER_MS,
    backoff: { initialMs: 1000, maxMs: 60_000 },
    stableAfterMs: 10_000,
    flapping: { exits: 3, windowMs: 60_000 },
  };
}

class Problems {
  readonly list: string[] = [];
  add(key: string, where: string, message: string): void {
    this.list.push(`  - ${key} (${where}): ${message}`);
  }
}

function duration(value: unknown, key: string, where: string, problems: Problems, opts: { positive?: boolean } = {}): number | undefined {
  const ms = parseDuration(value);
  if (ms === null || (opts.positive && ms <= 0)) {
    problems.add(key, where, `must be a duration such as 500, "500ms", "30s" or "10m"${opts.positive ? ' above 0' : ''}; got ${JSON.stringify(value)}`);
    return undefined;
  }
  return ms;
}

function wholeNumber(value: unknown, key: string, where: string, problems: Problems, min: number, max: number): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    problems.add(key, where, `must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`);
    return undefined;
  }
  return n;
}

/** A duration, or null / "off" for never. */
function killStuckAfter(value: unknown, key: string, where: string, problems: Problems): number | null {
  if (value === null || value === 'off') return null;
  return duration(value, key, where, problems) ?? DEFAULT_KILL_STUCK_AFTER_MS;
}

/** `php worker.php` -> "worker", `/usr/bin/my-worker` -> "my-worker". */
export function defaultName(command: string[]): string {
  const [cmd = 'program', ...args] = command;
  // `php worker.php` is named after its script; `sh -c 'a long line'` after its shell.
  const script = INTERPRETERS.has(basename(cmd)) ? args.find((a) => !a.startsWith('-')) : undefined;
  if (script !== undefined && /\s/.test(script)) return basename(cmd);
  const name = basename(script ?? cmd)
    .replace(/\.[a-z0-9]+$/i, '')
    .replace(/[^A-Za-z0-9_.:@-]/g, '_');
  return name === '' ? 'program' : name;
}

function parseProgram(raw: unknown, at: string, where: string, problems: Problems): ProgramConfig | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.add(at, where, 'must be an object {"name": ..., "command": ...}');
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const known = ['name', 'command', 'copies', 'env', 'cwd', 'stopGraceMs', 'maxRuntime', 'killStuckAfter', 'backoff', 'stableAfter', 'flapping'];
  for (const k of Object.keys(r)) if (!known.includes(k)) problems.add(`${at}.${k}`, where, `unknown key; known: ${known.join(', ')}`);

  const command = r.command;
  const okCommand =
    (typeof command === 'string' && command.trim() !== '') ||
    (Array.isArray(command) && command.length > 0 && command.every((a) => typeof a === 'string') && command[0] !== '');
  if (!okCommand) problems.add(`${at}.command`, where, 'must be an argv array such as ["php", "worker.php"] or a shell command string');
  const cmd = okCommand ? (command as string[] | string) : ['?'];
  const name = r.name === undefined ? defaultName(typeof cmd === 'string' ? cmd.split(/\s+/) : cmd) : r.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    problems.add(`${at}.name`, where, `must be 1-100 characters of letters, digits and _ . : @ -; got ${JSON.stringify(r.name)}`);
  }
  const p = programDefaults(String(name), cmd);

  if (r.copies !== undefined) p.copies = wholeNumber(r.copies, `${at}.copies`, where, problems, 1, 1000) ?? p.copies;
  if (r.env !== undefined) {
    if (typeof r.env !== 'object' || r.env === null || Object.values(r.env).some((v) => typeof v !== 'string')) {
      problems.add(`${at}.env`, where, 'must be an object of strings, e.g. {"APP_ENV": "production"}');
    } else p.env = r.env as Record<string, string>;
  }
  if (r.cwd !== undefined && r.cwd !== null) {
    if (typeof r.cwd !== 'string' || r.cwd === '') problems.add(`${at}.cwd`, where, 'must be a directory path');
    else p.cwd = r.cwd;
  }
  if (r.stopGraceMs !== undefined) p.stopGraceMs = duration(r.stopGraceMs, `${at}.stopGraceMs`, where, problems) ?? p.stopGraceMs;
  if (r.maxRuntime !== undefined && r.maxRuntime !== null) {
    p.maxRuntimeMs = duration(r.maxRuntime, `${at}.maxRuntime`, where, problems, { positive: true }) ?? null;
  }
  if (r.killStuckAfter !== undefined) p.killStuckAfterMs = killStuckAfter(r.killStuckAfter, `${at}.killStuckAfter`, where, problems);
  if (r.stableAfter !== undefined) p.stableAfterMs = duration(r.stableAfter, `${at}.stableAfter`, where, problems) ?? p.stableAfterMs;
  if (r.backoff !== undefined) {
    const b = r.backoff as Record<string, unknown> | null;
    if (typeof b !== 'object' || b === null) problems.add(`${at}.backoff`, where, 'must be an object {"initial": "1s", "max": "1m"}');
    else {
      if (b.initial !== undefined)
        p.backoff.initialMs = duration(b.initial, `${at}.backoff.initial`, where, problems, { positive: true }) ?? p.backoff.initialMs;
      if (b.max !== undefined) p.backoff.maxMs = duration(b.max, `${at}.backoff.max`, where, problems, { positive: true }) ?? p.backoff.maxMs;
    }
  }
  if (r.flapping !== undefined) {
    const f = r.flapping as Record<string, unknown> | null;
    if (typeof f !== 'object' || f === null) problems.add(`${at}.flapping`, where, 'must be an object {"exits": 3, "window": "1m"}');
    else {
      if (f.exits !== undefined) p.flapping.exits = wholeNumber(f.exits, `${at}.flapping.exits`, where, problems, 1, 1000) ?? p.flapping.exits;
      if (f.window !== undefined) p.flapping.windowMs = duration(f.window, `${at}.flapping.window`, where, problems, { positive: true }) ?? p.flapping.windowMs;
    }
  }
  checkProgram(p, at, where, problems);
  return p;
}

function checkProgram(p: ProgramConfig, at: string, where: string, problems: Problems): void {
  if (p.backoff.maxMs < p.backoff.initialMs) problems.add(`${at}.backoff.max`, where, `must be at least backoff.initial (${p.backoff.initialMs} ms)`);
}

/**
 * Builds the config from a file (flags.config) or from `command` (the one-program form).
 * `hostname` names the supervisor by default; `env` supplies LAZARET_URL and LAZARET_TOKEN.
 */
export function loadSupervisorConfig(flags: SuperviseFlags, command: string[], env: NodeJS.ProcessEnv, hostname: string): SupervisorConfig {
  const problems = new Problems();
  let file: Record<string, unknown> = {};
  let programs: ProgramConfig[] = [];

  if (flags.config !== undefined) {
    if (command.length > 0) {
      throw new LazaretError(ErrorCode.CONFIG_INVALID, 'Give either --config FILE or a command after --, not both', {
        hint: 'lazaret supervise --config supervise.json   or   lazaret supervise --copies 2 -- php worker.php',
      });
    }
    const given = PROGRAM_FLAGS.filter((k) => flags[k] !== undefined);
    if (given.length > 0) {
      throw new LazaretError(
        ErrorCode.CONFIG_INVALID,
        `--${given.map(kebab).join(', --')} only apply to the one-program form; with --config set them per program in the file`,
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(flags.config, 'utf8'));
    } catch (err) {
      throw new LazaretError(ErrorCode.CONFIG_INVALID, `Cannot read supervisor config ${flags.config}: ${(err as Error).message}`, {
        hint: 'the file is JSON: {"programs": [{"name": "resize", "command": ["php", "worker.php"], "copies": 4}]} (docs/supervisor.md)',
      });
    }
    const where = `config file ${flags.config}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new LazaretError(ErrorCode.CONFIG_INVALID, `${flags.config} must hold a JSON object with a "programs" array`);
    }
    file = raw as Record<string, unknown>;
    const known = ['$schema', 'comment', 'id', 'server', 'token', 'caFile', 'reportInterval', 'stateDir', 'settle', 'logLevel', 'programs'];
    for (const k of Object.keys(file)) if (!known.includes(k)) problems.add(k, where, `unknown key; known: ${known.join(', ')}`);
    if (!Array.isArray(file.programs) || file.programs.length === 0) problems.add('programs', where, 'must be a non-empty array of programs');
    else programs = file.programs.flatMap((p, i) => parseProgram(p, `programs[${i}]`, where, problems) ?? []);
    const names = programs.map((p) => p.name);
    for (const n of new Set(names))
      if (names.filter((x) => x === n).length > 1) problems.add('programs', where, `the name "${n}" is used twice; names must be unique`);
  } else {
    if (command.length === 0) {
      throw new LazaretError(ErrorCode.CONFIG_INVALID, 'Nothing to supervise: give --config FILE, or a command after --', {
        hint: 'lazaret supervise --copies 2 -- php worker.php',
      });
    }
    const p = programDefaults(flags.name ?? defaultName(command), command);
    const where = 'command line';
    if (!NAME.test(p.name)) problems.add('--name', where, 'must be 1-100 characters of letters, digits and _ . : @ -');
    if (flags.copies !== undefined) p.copies = wholeNumber(flags.copies, '--copies', where, problems, 1, 1000) ?? p.copies;
    if (flags.stopGrace !== undefined) p.stopGraceMs = duration(flags.stopGrace, '--stop-grace', where, problems) ?? p.stopGraceMs;
    if (flags.maxRuntime !== undefined) p.maxRuntimeMs = duration(flags.maxRuntime, '--max-runtime', where, problems, { positive: true }) ?? null;
    if (flags.killStuckAfter !== undefined) p.killStuckAfterMs = killStuckAfter(flags.killStuckAfter, '--kill-stuck-after', where, problems);
    if (flags.backoffInitial !== undefined)
      p.backoff.initialMs = duration(flags.backoffInitial, '--backoff-initial', where, problems, { positive: true }) ?? p.backoff.initialMs;
    if (flags.backoffMax !== undefined) p.backoff.maxMs = duration(flags.backoffMax, '--backoff-max', where, problems, { positive: true }) ?? p.backoff.maxMs;
    if (flags.stableAfter !== undefined) p.stableAfterMs = duration(flags.stableAfter, '--stable-after', where, problems) ?? p.stableAfterMs;
    checkProgram(p, 'program', where, problems);
    programs = [p];
  }

  const pick = (flag: string | undefined, key: string, envValue?: string): { value: unknown; where: string } | undefined => {
    if (flag !== undefined) return { value: flag, where: 'command line' };
    if (envValue !== undefined && envValue !== '') return { value: envValue, where: 'environment' };
    if (file[key] !== undefined) return { value: file[key], where: `config file ${flags.config}` };
    return undefined;
  };
  const text = (key: string, v: { value: unknown; where: string } | undefined, fallback: string): string => {
    if (v === undefined) return fallback;
    if (typeof v.value !== 'string' || v.value === '') {
      problems.add(key, v.where, 'must be a non-empty string');
      return fallback;
    }
    return v.value;
  };

  const server = text('server', pick(flags.server, 'server', env.LAZARET_URL), DEFAULT_SERVER).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(server)) problems.add('server', 'settings', `must be an http:// or https:// URL; got ${JSON.stringify(server)}`);
  // A file keeps the token out of `ps`; one named on the command line comes before the environment.
  const fromFile = (path: string | undefined, where: string): { value: unknown; where: string } | undefined => {
    if (path === undefined || path === '') return undefined;
    try {
      return { value: readSecretFile(path), where };
    } catch (err) {
      problems.add('token', where, (err as Error).message);
      return undefined;
    }
  };
  const tokenPick =
    (flags.token !== undefined ? pick(flags.token, 'token') : undefined) ??
    fromFile(flags.tokenFile, 'command line') ??
    (env.LAZARET_TOKEN ? pick(undefined, 'token', env.LAZARET_TOKEN) : undefined) ??
    fromFile(env.LAZARET_TOKEN_FILE, 'environment') ??
    pick(undefined, 'token');
  const caPick = pick(flags.caFile, 'caFile', env.LAZARET_CA_FILE);
  const logLevel = text('logLevel', pick(flags.logLevel, 'logLevel'), 'info');
  if (!LOG_LEVELS.includes(logLevel)) problems.add('logLevel', 'settings', `must be one of ${LOG_LEVELS.join(', ')}`);
  const interval = pick(flags.reportInterval, 'reportInterval');
  const settle = pick(flags.settle, 'settle');
  const config: SupervisorConfig = {
    id: text('id', pick(flags.id, 'id'), `${hostname}:${programs.map((p) => p.name).join('+')}`),
    server,
    token: tokenPick === undefined ? null : text('token', tokenPick, ''),
    caFile: caPick === undefined ? null : text('caFile', caPick, ''),
    reportIntervalMs: interval === undefined ? 5000 : (duration(interval.value, 'reportInterval', interval.where, problems, { positive: true }) ?? 5000),
    stateDir: text('stateDir', pick(flags.stateDir, 'stateDir'), DEFAULT_STATE_DIR),
    settleMs: settle === undefined ? 2000 : (duration(settle.value, 'settle', settle.where, problems) ?? 2000),
    logLevel,
    programs,
  };
  if (config.reportIntervalMs < 100) problems.add('reportInterval', interval?.where ?? 'settings', 'must be at least 100 ms');
  if (!/^[^/\\\0]{1,200}$/.test(config.id)) problems.add('id', 'settings', 'must be 1-200 characters without slashes');

  if (problems.list.length > 0) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `Invalid supervisor configuration:\n${problems.list.join('\n')}`, {
      hint: 'see docs/supervisor.md for every key and its default',
    });
  }
  return config;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The command as people read it. */
export function commandText(command: string[] | string): string {
  return typeof command === 'string' ? command : command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(' ');
}
