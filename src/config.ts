// One validated, frozen config object from defaults, the config file, the environment and flags (in
// that order, later wins). Nothing else reads process.env.

import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { HealthRule } from './observe/health.js';
import type { BackoffPolicy, PolicyRule } from './core/policy.js';
import type { TagRule } from './core/tags.js';
import { parseDuration } from './duration.js';
import { ErrorCode, LazaretError } from './errors.js';
import { readSecretFile } from './token-file.js';

export interface Limits {
  /** Largest binary packet body accepted, bytes. */
  maxFrameBytes: number;
  /** Largest job payload accepted, bytes. */
  maxPayloadBytes: number;
  /** Longest admin text line, bytes. */
  maxLineBytes: number;
  /** Longest unique key, bytes (gearmand: 64). */
  maxUniqueBytes: number;
  maxConnections: number;
  /** Default queue limit per function, 0 = unlimited; the admin `maxqueue` overrides it. */
  maxQueue: number;
  /** Replies buffered for a peer that does not read before it is disconnected, bytes. */
  maxOutputBytes: number;
  /** Replies waiting on a commit before reading from that connection pauses. */
  maxPendingReplies: number;
  /** A packet or admin line started and not finished within this long closes the connection, ms; 0 = off. */
  frameTimeoutMs: number;
  /** A connection that sends no client, worker or admin request within this long is closed, ms; 0 = off. */
  identifyTimeoutMs: number;
  /** Bytes of unfinished packets buffered across all Gearman connections; 0 = unlimited. */
  maxBufferedBytes: number;
  /** Gearman connections from one peer (an address; IPv6 by its /64, see src/peer-group.ts); 0 = unlimited. */
  maxConnectionsPerPeer: number;
  /** Longest function name (and SET_CLIENT_ID) a peer may use, bytes. */
  maxFunctionNameBytes: number;
  /** Functions known at once (idle ones are forgotten); 0 = unlimited. */
  maxFunctions: number;
  /** File descriptors kept free for HTTP, the store and logs when maxConnections is checked against `ulimit -n`. */
  reservedDescriptors: number;
}

export const ALERT_EVENTS = ['health.failed', 'health.recovered', 'job.quarantined'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export interface WebhookConfig {
  url: string;
  /** Signs each try: header `X-Lazaret-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">` (alerts/signature.ts). */
  secret: string | null;
  /** Which events this hook gets; all by default. */
  events: AlertEvent[];
}

export interface Config {
  host: string;
  port: number;
  httpHost: string;
  /** null = no HTTP side. */
  httpPort: number | null;
  /** SQLite file (the store unless `store` names a PostgreSQL server). */
  db: string;
  /**
   * A PostgreSQL store that several nodes may share, `postgres://user[:password]@host[:port]/database`;
   * null = the SQLite file `db`.
   */
  store: string | null;
  /** The schema holding the PostgreSQL store's tables (created when missing). */
  storeSchema: string;
  /** `full` (default) survives a power cut or an OS crash as well as a kill -9; `normal` only a kill -9 of the server. */
  synchronous: 'normal' | 'full';
  handlePrefix: string;
  /** Admin commands that change state from beyond loopback need it; so does the HTTP API there. */
  adminToken: string | null;
  /**
   * Loopback peers may change state without the token. Turn off when a proxy on the same host makes
   * remote peers look local.
   */
  trustLoopback: boolean;
  /** TLS on the Gearman port (gearmand --ssl); needs sslCertificate and sslKey. */
  ssl: boolean;
  /** PEM certificate (chain) of the Gearman port. */
  sslCertificate: string | null;
  /** PEM private key of that certificate. */
  sslKey: string | null;
  /** PEM CA file: when set, Gearman peers must present a client certificate it signed (mutual TLS). */
  sslCaFile: string | null;
  /** A plain-text Gearman port beside the TLS one (on `host`); null = none. */
  plainPort: number | null;
  /**
   * Start even though a port listens beyond loopback with no adminToken. The Gearman protocol has no
   * authentication of its own, so this is a choice an operator makes out loud.
   */
  allowUnauthenticated: boolean;
  /** Treat every connection as if it sent OPTION_REQ exceptions (gearmand --exceptions). */
  exceptionsByDefault: boolean;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** How long a graceful stop waits for running jobs, ms. */
  shutdownGraceMs: number;
  limits: Limits;
  policies: PolicyRule[];
  /** Each quarantined job is also submitted to this function as a background job. */
  quarantineFunction: string | null;
  /** Tags extracted from JSON payloads, per function glob. */
  tags: TagRule[];
  results: {
    /** How long finished jobs (their state, tags and result) are kept, ms; 0 = not kept. */
    retention: number;
  };
  cluster: {
    /**
     * This node's name in a shared (PostgreSQL) store: on the jobs it holds and its lease. Stable across
     * its restarts and unique among the nodes of the store.
     */
    node: string;
    /** How long a node's lease in a shared store lasts without a renewal, ms; peers rescue its jobs after. */
    leaseMs: number;
  };
  queue: {
    /**
     * Runnable jobs held in memory per function and priority, with their payloads; the rest of the
     * queue waits in the store and comes in, in line, as workers drain the window.
     */
    window: number;
  };
  http: {
    /** Origins allowed to call the API from a browser (CORS); empty = none. */
    corsOrigins: string[];
    /**
     * Host names, besides localhost / 127.0.0.1 / [::1], under which a loopback peer is trusted
     * without the token (trustLoopback). Other names are what a DNS-rebinding page would send.
     */
    allowedHosts: string[];
    /** /health and /metrics follow the /api token rule when true. */
    protectHealth: boolean;
    protectMetrics: boolean;
    /** Job event streams (SSE) open at once, in all. */
    maxEventStreams: number;
    /** Job event streams open at once on one job. */
    maxEventStreamsPerJob: number;
    /** Bytes waiting for a slow event-stream reader before its stream is closed. */
    maxEventStreamBytes: number;
    /** HTTP connections open at once; more are closed as they arrive. */
    maxConnections: number;
    /** Longest time to receive one whole request (headers and body), ms; a slow sender gets 408. */
    requestTimeoutMs: number;
    /** A connection with nothing sent either way for this long is closed, ms. */
    idleTimeoutMs: number;
    /** HTTPS on the HTTP port: PEM certificate (chain) and key files, read again on SIGHUP. */
    tls: { cert: string; key: string } | null;
  };
  health: {
    /** How often the checks run by themselves, ms (at most 60 s). */
    intervalMs: number;
    /** Queued jobs with no connected worker for this long turn /health red, rules or not. */
    unservedAfterMs: number;
    /**
     * Queued jobs, workers that can take them, and no job of the function started for this long: red,
     * rules or not. 0 = off. Optional in the type so a health section written in full stays valid.
     */
    stalledAfterMs?: number;
    rules: HealthRule[];
  };
  alerts: {
    webhooks: WebhookConfig[];
    /** Quarantine alerts sent one by one per minute; the rest arrive as one summary. */
    quarantinePerMinute: number;
    /** How long an undelivered alert is retried after it was raised, ms. */
    retryFor: number;
    /** A check that stays red is alerted again this often, ms; 0 = once. */
    repeatEvery: number;
    /** /health turns red when a webhook's oldest alert has failed for this long, ms. */
    undeliveredAfter: number;
  };
  /** Where the config file was read from, if anywhere. */
  configFile: string | null;
}

export const DEFAULT_CONFIG_FILE = 'lazaret.json';

export function defaultConfig(): Config {
  return {
    host: '127.0.0.1',
    port: 4730,
    httpHost: '127.0.0.1',
    httpPort: 4731,
    db: './data/lazaret.db',
    store: null,
    storeSchema: 'lazaret',
    synchronous: 'full',
    handlePrefix: `H:${hostname().replaceAll('/', '_')}:`,
    adminToken: null,
    trustLoopback: true,
    ssl: false,
    sslCertificate: null,
    sslKey: null,
    sslCaFile: null,
    plainPort: null,
    allowUnauthenticated: false,
    exceptionsByDefault: false,
    logLevel: 'info',
    shutdownGraceMs: 30_000,
    limits: {
      maxFrameBytes: 16 * 1024 * 1024 + 4096,
      maxPayloadBytes: 16 * 1024 * 1024,
      maxLineBytes: 8192,
      maxUniqueBytes: 64,
      maxConnections: 10_000,
      maxQueue: 0,
      maxOutputBytes: 64 * 1024 * 1024,
      maxPendingReplies: 10_000,
      frameTimeoutMs: 30_000,
      identifyTimeoutMs: 30_000,
      maxBufferedBytes: 256 * 1024 * 1024,
      maxConnectionsPerPeer: 1000,
      reservedDescriptors: 128,
      maxFunctionNameBytes: 512,
      maxFunctions: 1000,
    },
    policies: [],
    quarantineFunction: null,
    tags: [],
    results: { retention: 24 * 3_600_000 },
    cluster: { node: hostname(), leaseMs: 30_000 },
    queue: { window: 2048 },
    http: {
      corsOrigins: [],
      allowedHosts: [],
      protectHealth: false,
      protectMetrics: false,
      maxEventStreams: 1000,
      maxEventStreamsPerJob: 16,
      maxEventStreamBytes: 256 * 1024,
      maxConnections: 1000,
      requestTimeoutMs: 30_000,
      idleTimeoutMs: 60_000,
      tls: null,
    },
    health: { intervalMs: 10_000, unservedAfterMs: 30_000, stalledAfterMs: 60_000, rules: [] },
    alerts: { webhooks: [], quarantinePerMinute: 10, retryFor: 24 * 3_600_000, repeatEvery: 3_600_000, undeliveredAfter: 5 * 60_000 },
    configFile: null,
  };
}

/** Flags as the CLI parsed them; undefined = not given. */
export interface ConfigFlags {
  config?: string;
  host?: string;
  port?: string | number;
  httpHost?: string;
  httpPort?: string | number;
  db?: string;
  store?: string;
  storeSchema?: string;
  node?: string;
  adminToken?: string;
  /** A file holding the admin token (kept out of `ps`). */
  tokenFile?: string;
  allowUnauthenticated?: boolean;
  httpTlsCert?: string;
  httpTlsKey?: string;
  logLevel?: string;
  ssl?: boolean;
  sslCertificate?: string;
  sslKey?: string;
  sslCaFile?: string;
  plainPort?: string | number;
}

/** The shortest admin token accepted: long enough that guessing it over the network is hopeless. */
export const MIN_TOKEN_LENGTH = 16;

function loopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Refuses a node that listens beyond loopback with nobody's token: its admin commands and API would be
 * loopback-only while the Gearman port is open to the network, which is rarely what was meant.
 */
export function checkExposure(config: Readonly<Config>): void {
  if (config.adminToken !== null || config.allowUnauthenticated) return;
  // Mutual TLS is the Gearman port's authentication, unless a plain port beside it lets anyone in.
  const gearmanAuthenticated = config.ssl && config.sslCaFile !== null && config.plainPort === null;
  const open = [...(gearmanAuthenticated ? [] : [`host ${config.host}`]), ...(config.httpPort === null ? [] : [`httpHost ${config.httpHost}`])].filter(
    (s) => !loopbackHost(s.slice(s.indexOf(' ') + 1)),
  );
  if (open.length === 0) return;
  throw new LazaretError(ErrorCode.CONFIG_INVALID, `Listening beyond loopback (${open.join(', ')}) with no adminToken`, {
    hint:
      'set adminToken (at least 16 characters; --token-file or LAZARET_ADMIN_TOKEN_FILE keeps it out of `ps`), or start with --allow-unauthenticated ' +
      '("allowUnauthenticated": true) if anyone who can reach the ports may use them. The Gearman protocol has no authentication: use TLS with client certificates or a private network (docs/security.md)',
  });
}

type Source = 'file' | 'env' | 'flag' | 'combination';
interface Problem {
  key: string;
  source: Source;
  message: string;
}

export { parseDuration };

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Readonly<Config> {
  const config = defaultConfig();
  const problems: Problem[] = [];

  const file = flags.config ?? env.LAZARET_CONFIG ?? (existsSync(`${cwd}/${DEFAULT_CONFIG_FILE}`) ? `${cwd}/${DEFAULT_CONFIG_FILE}` : undefined);
  if (file !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new LazaretError(ErrorCode.CONFIG_INVALID, `Cannot read config file ${file}: ${(err as Error).message}`, {
        hint: 'the config file is JSON; see README "Configuration"',
      });
    }
    applyFile(config, raw, problems);
    config.configFile = file;
  }

  const set = (key: keyof Config, value: string | number | undefined, source: Source): void => {
    if (value === undefined || value === '') return;
    applyScalar(config, key, value, source, problems);
  };
  function setNode(value: string | undefined, source: Source): void {
    if (value === undefined || value === '') return;
    const problem = nodeNameProblem(value);
    if (problem === null) config.cluster.node = value;
    else problems.push({ key: 'cluster.node', source, message: problem });
  }
  function setTokenFile(path: string | undefined, source: Source): void {
    if (path === undefined || path === '') return;
    try {
      applyScalar(config, 'adminToken', readSecretFile(path, 'admin token'), source, problems);
    } catch (err) {
      problems.push({ key: 'adminToken', source, message: (err as Error).message });
    }
  }
  set('host', env.LAZARET_HOST, 'env');
  set('port', env.LAZARET_PORT, 'env');
  set('httpHost', env.LAZARET_HTTP_HOST, 'env');
  set('httpPort', env.LAZARET_HTTP_PORT, 'env');
  set('db', env.LAZARET_DB, 'env');
  set('store', env.LAZARET_STORE, 'env');
  set('storeSchema', env.LAZARET_STORE_SCHEMA, 'env');
  setNode(env.LAZARET_NODE, 'env');
  set('adminToken', env.LAZARET_ADMIN_TOKEN, 'env');
  setTokenFile(env.LAZARET_ADMIN_TOKEN_FILE, 'env');
  set('logLevel', env.LAZARET_LOG_LEVEL, 'env');
  set('host', flags.host, 'flag');
  set('port', flags.port, 'flag');
  set('httpHost', flags.httpHost, 'flag');
  set('httpPort', flags.httpPort, 'flag');
  set('db', flags.db, 'flag');
  set('store', flags.store, 'flag');
  set('storeSchema', flags.storeSchema, 'flag');
  setNode(flags.node, 'flag');
  set('adminToken', flags.adminToken, 'flag');
  setTokenFile(flags.tokenFile, 'flag');
  set('logLevel', flags.logLevel, 'flag');
  if (flags.ssl === true) applyScalar(config, 'ssl', true, 'flag', problems);
  set('sslCertificate', flags.sslCertificate, 'flag');
  set('sslKey', flags.sslKey, 'flag');
  set('sslCaFile', flags.sslCaFile, 'flag');
  set('plainPort', flags.plainPort, 'flag');
  checkSsl(config, problems);
  if (env.LAZARET_ALLOW_UNAUTHENTICATED !== undefined && env.LAZARET_ALLOW_UNAUTHENTICATED !== '') {
    applyScalar(config, 'allowUnauthenticated', ['1', 'true', 'yes'].includes(env.LAZARET_ALLOW_UNAUTHENTICATED.toLowerCase()), 'env', problems);
  }
  if (flags.allowUnauthenticated === true) config.allowUnauthenticated = true;
  applyHttpTls(config, env.LAZARET_HTTP_TLS_CERT, env.LAZARET_HTTP_TLS_KEY, 'env', problems);
  applyHttpTls(config, flags.httpTlsCert, flags.httpTlsKey, 'flag', problems);

  if (problems.length > 0) {
    const lines = problems.map(
      (p) =>
        `  - ${p.key} (${p.source === 'file' ? `config file ${file}` : p.source === 'env' ? 'environment' : p.source === 'flag' ? 'command line' : 'settings together'}): ${p.message}`,
    );
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `Invalid configuration:\n${lines.join('\n')}`, {
      hint: 'see README "Configuration" for every key and its default',
    });
  }
  checkExposure(config);
  return deepFreeze(config);
}

function applyScalar(config: Config, key: keyof Config, value: unknown, source: Source, problems: Problem[]): void {
  const bad = (message: string): void => void problems.push({ key, source, message });
  switch (key) {
    case 'port':
    case 'plainPort':
    case 'httpPort': {
      if ((key === 'httpPort' || key === 'plainPort') && (value === null || value === 'off')) {
        config[key] = null;
        return;
      }
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) return bad(`must be a port number 0-65535, got ${JSON.stringify(value)}`);
      config[key] = n;
      return;
    }
    case 'host':
    case 'httpHost':
    case 'db':
    case 'handlePrefix':
      if (typeof value !== 'string' || value === '') return bad(`must be a non-empty string, got ${JSON.stringify(value)}`);
      if (key === 'handlePrefix' && (value.includes('//') || value.length > 40)) return bad('must not contain "//" and be at most 40 bytes');
      config[key] = value;
      return;
    case 'sslCertificate':
    case 'sslKey':
    case 'sslCaFile':
    case 'adminToken':
    case 'quarantineFunction':
      if (value !== null && (typeof value !== 'string' || value === '')) return bad('must be a non-empty string or null');
      if (key === 'adminToken' && typeof value === 'string' && value.length < MIN_TOKEN_LENGTH) {
        return bad(`must be at least ${MIN_TOKEN_LENGTH} characters (e.g. the output of \`openssl rand -hex 16\`), got ${value.length}`);
      }
      config[key] = value as string | null;
      return;
    case 'logLevel':
      if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(String(value))) {
        return bad(`must be one of trace, debug, info, warn, error, fatal, silent; got ${JSON.stringify(value)}`);
      }
      config.logLevel = value as Config['logLevel'];
      return;
    case 'store': {
      if (value === null) {
        config.store = null;
        return;
      }
      // The value may hold a password: problems never repeat it.
      const problem = storeUrlProblem(value);
      if (problem !== null) return bad(problem);
      config.store = value as string;
      return;
    }
    case 'storeSchema':
      if (typeof value !== 'string' || !SCHEMA_NAME.test(value)) {
        return bad(
          `must be a plain schema name: lower-case letters, digits and "_", not starting with a digit, at most 63 characters; got ${JSON.stringify(value)}`,
        );
      }
      config.storeSchema = value;
      return;
    case 'synchronous':
      if (value !== 'normal' && value !== 'full') return bad('must be "normal" or "full"');
      config.synchronous = value;
      return;
    case 'exceptionsByDefault':
    case 'ssl':
    case 'trustLoopback':
    case 'allowUnauthenticated':
      if (typeof value !== 'boolean') return bad('must be true or false');
      config[key] = value;
      return;
    case 'shutdownGraceMs': {
      const ms = parseDuration(value);
      if (ms === null) return bad('must be a duration such as 30000, "30s" or "1m"');
      config.shutdownGraceMs = ms;
      return;
    }
    default:
      bad('is not a setting Lazaret knows');
  }
}

/** A schema name the PostgreSQL store creates and quotes itself (as src/storage/postgres/connection.ts checks it). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Why `value` is not a PostgreSQL URL the store can use, or null; never quotes the value (it may hold a password). */
function storeUrlProblem(value: unknown): string | null {
  const expected = 'must be a PostgreSQL URL such as postgres://user@host:5432/database (or null for the SQLite file `db`)';
  if (typeof value !== 'string' || value === '') return expected;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${expected}; this one does not parse as a URL`;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return `${expected}; this one starts with ${JSON.stringify(url.protocol)}`;
  return null;
}

/** TLS settings that only make sense together; the files themselves are read when the server starts. */
function checkSsl(config: Config, problems: Problem[]): void {
  if (config.ssl) {
    for (const key of ['sslCertificate', 'sslKey'] as const) {
      if (config[key] === null)
        problems.push({ key, source: 'combination', message: `is needed with ssl (--ssl-${key === 'sslKey' ? 'key' : 'certificate'} FILE)` });
    }
  } else if (config.plainPort !== null || config.sslCaFile !== null) {
    problems.push({ key: config.plainPort !== null ? 'plainPort' : 'sslCaFile', source: 'combination', message: 'only applies with ssl on (--ssl)' });
  }
}

const LIMIT_KEYS = Object.keys(defaultConfig().limits) as (keyof Limits)[];
const POLICY_KEYS = ['match', 'maxAttempts', 'maxCrashes', 'backoff', 'timeout', 'ttl', 'retryForeground'];

function applyFile(config: Config, raw: unknown, problems: Problem[]): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push({ key: '(file)', source: 'file', message: 'must be a JSON object' });
    return;
  }
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'limits') applyLimits(config, value, problems);
    else if (key === 'policies') applyPolicies(config, value, problems);
    else if (key === 'tags') applyTags(config, value, problems);
    else if (key === 'results') applyResults(config, value, problems);
    else if (key === 'queue') applyQueue(config, value, problems);
    else if (key === 'cluster') applyCluster(config, value, problems);
    else if (key === 'http') applyHttp(config, value, problems);
    else if (key === 'health') applyHealth(config, value, problems);
    else if (key === 'alerts') applyAlerts(config, value, problems);
    else if (key === '$schema' || key === 'comment') continue;
    else applyScalar(config, key as keyof Config, value, 'file', problems);
  }
}

function applyLimits(config: Config, value: unknown, problems: Problem[]): void {
  if (typeof value !== 'object' || value === null) {
    problems.push({ key: 'limits', source: 'file', message: 'must be an object' });
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!LIMIT_KEYS.includes(k as keyof Limits)) {
      problems.push({ key: `limits.${k}`, source: 'file', message: `unknown limit; known: ${LIMIT_KEYS.join(', ')}` });
    } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      problems.push({ key: `limits.${k}`, source: 'file', message: `must be a whole number >= 0, got ${JSON.stringify(v)}` });
    } else {
      config.limits[k as keyof Limits] = v;
    }
  }
  if (config.limits.maxPayloadBytes > config.limits.maxFrameBytes) {
    config.limits.maxFrameBytes = config.limits.maxPayloadBytes + 4096;
  }
}

function applyPolicies(config: Config, value: unknown, problems: Problem[]): void {
  if (!Array.isArray(value)) {
    problems.push({ key: 'policies', source: 'file', message: 'must be an array of {"match": "glob", ...}' });
    return;
  }
  value.forEach((rule: unknown, i) => {
    const at = `policies[${i}]`;
    const bad = (k: string, message: string): void => void problems.push({ key: `${at}.${k}`, source: 'file', message });
    if (typeof rule !== 'object' || rule === null) return bad('', 'must be an object');
    const r = rule as Record<string, unknown>;
    const out: PolicyRule = { match: '' };
    for (const k of Object.keys(r)) if (!POLICY_KEYS.includes(k)) bad(k, `unknown policy key; known: ${POLICY_KEYS.join(', ')}`);
    if (typeof r.match !== 'string' || r.match === '') bad('match', 'must be a glob over function names, e.g. "resize_*"');
    else out.match = r.match;
    for (const k of ['maxAttempts', 'maxCrashes'] as const) {
      if (r[k] === undefined) continue;
      if (typeof r[k] !== 'number' || !Number.isInteger(r[k]) || (r[k] as number) < 1) bad(k, 'must be a whole number >= 1');
      else out[k] = r[k] as number;
    }
    for (const k of ['timeout', 'ttl'] as const) {
      if (r[k] === undefined) continue;
      if (r[k] === null) {
        out[k] = null;
        continue;
      }
      const ms = parseDuration(r[k]);
      if (ms === null || ms <= 0) bad(k, 'must be a duration such as 30000, "30s", "10m", or null');
      else out[k] = ms;
    }
    if (r.retryForeground !== undefined) {
      if (typeof r.retryForeground !== 'boolean') bad('retryForeground', 'must be true or false');
      else out.retryForeground = r.retryForeground;
    }
    if (r.backoff !== undefined) {
      const b = r.backoff as Record<string, unknown>;
      const backoff: Partial<BackoffPolicy> = {};
      if (typeof b !== 'object' || b === null) bad('backoff', 'must be an object {type, base, cap, jitter}');
      else {
        if (b.type !== undefined) {
          if (b.type !== 'exponential' && b.type !== 'fixed') bad('backoff.type', 'must be "exponential" or "fixed"');
          else backoff.type = b.type;
        }
        for (const k of ['base', 'cap'] as const) {
          if (b[k] === undefined) continue;
          const ms = parseDuration(b[k]);
          if (ms === null) bad(`backoff.${k}`, 'must be a duration such as 1000 or "1s"');
          else backoff[k] = ms;
        }
        if (b.jitter !== undefined) {
          if (typeof b.jitter !== 'boolean') bad('backoff.jitter', 'must be true or false');
          else backoff.jitter = b.jitter;
        }
        out.backoff = backoff;
      }
    }
    config.policies.push(out);
  });
}

function applyTags(config: Config, value: unknown, problems: Problem[]): void {
  if (!Array.isArray(value)) {
    problems.push({ key: 'tags', source: 'file', message: 'must be an array of {"function": "glob", "fromPayload": ["user_id"]}' });
    return;
  }
  value.forEach((rule: unknown, i) => {
    const r = (typeof rule === 'object' && rule !== null ? rule : {}) as Record<string, unknown>;
    const paths = r.fromPayload;
    if (typeof r.function !== 'string' || r.function === '') {
      problems.push({ key: `tags[${i}].function`, source: 'file', message: 'must be a glob over function names, e.g. "email.*"' });
    } else if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p !== '')) {
      problems.push({ key: `tags[${i}].fromPayload`, source: 'file', message: 'must be a non-empty array of JSON paths such as "user_id" or "account.id"' });
    } else {
      config.tags.push({ function: r.function, fromPayload: paths as string[] });
    }
  });
}

function applyResults(config: Config, value: unknown, problems: Problem[]): void {
  const r = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== 'retention') problems.push({ key: `results.${k}`, source: 'file', message: 'unknown key; known: retention' });
  if (r.retention === undefined) return;
  const ms = parseDuration(r.retention);
  if (ms === null) problems.push({ key: 'results.retention', source: 'file', message: 'must be a duration such as "24h", "30m", or 0 to keep none' });
  else config.results.retention = ms;
}

function applyQueue(config: Config, value: unknown, problems: Problem[]): void {
  const q = section(value, 'queue', ['window'], problems);
  if (q === null || q.window === undefined) return;
  const n = q.window;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1_000_000) {
    problems.push({ key: 'queue.window', source: 'file', message: 'must be a whole number from 1 to 1000000' });
  } else config.queue.window = n;
}

/** Why a node name is unusable, or null: it names the node's jobs and connections, so it is kept plain. */
function nodeNameProblem(value: unknown): string | null {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(value)) {
    return `must be 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit; got ${JSON.stringify(value)}`;
  }
  return null;
}

function applyCluster(config: Config, value: unknown, problems: Problem[]): void {
  const c = section(value, 'cluster', ['node', 'leaseMs'], problems);
  if (c === null) return;
  if (c.node !== undefined) {
    const problem = nodeNameProblem(c.node);
    if (problem === null) config.cluster.node = c.node as string;
    else problems.push({ key: 'cluster.node', source: 'file', message: problem });
  }
  if (c.leaseMs !== undefined) {
    // A duration ("30s") or ms. At least 500 ms: renewals go every third of it, through the database.
    const ms = parseDuration(c.leaseMs);
    if (ms === null || ms < 500 || ms > 3_600_000) {
      problems.push({ key: 'cluster.leaseMs', source: 'file', message: 'must be a duration from "500ms" to "1h" (or ms from 500 to 3600000)' });
    } else config.cluster.leaseMs = ms;
  }
}

/** The object at `key` of the file, or null (with a problem noted) when it is not one. */
function section(value: unknown, key: string, known: readonly string[], problems: Problem[]): Record<string, unknown> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push({ key, source: 'file', message: 'must be an object' });
    return null;
  }
  const r = value as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!known.includes(k)) problems.push({ key: `${key}.${k}`, source: 'file', message: `unknown key; known: ${known.join(', ')}` });
  return r;
}

/** Both files or neither; each must be readable now, so a typo stops the start rather than the first reload. */
function applyHttpTls(config: Config, cert: unknown, key: unknown, source: Source, problems: Problem[]): void {
  if ((cert === undefined || cert === '') && (key === undefined || key === '')) return;
  const bad = (message: string): void => void problems.push({ key: 'http.tls', source, message });
  if (typeof cert !== 'string' || cert === '' || typeof key !== 'string' || key === '') return bad('needs both a certificate file (cert) and a key file (key)');
  for (const [what, path] of [
    ['certificate', cert],
    ['key', key],
  ] as const) {
    try {
      readFileSync(path);
    } catch (err) {
      return bad(`cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  config.http.tls = { cert, key };
}

const HTTP_COUNTS = ['maxEventStreams', 'maxEventStreamsPerJob', 'maxEventStreamBytes', 'maxConnections'] as const;

function applyHttp(config: Config, value: unknown, problems: Problem[]): void {
  const r = section(
    value,
    'http',
    ['corsOrigins', 'allowedHosts', 'protectHealth', 'protectMetrics', 'tls', 'requestTimeoutMs', 'idleTimeoutMs', ...HTTP_COUNTS],
    problems,
  );
  if (r === null) return;
  if (r.tls !== undefined && r.tls !== null) {
    const tls = section(r.tls, 'http.tls', ['cert', 'key'], problems);
    if (tls !== null) applyHttpTls(config, tls.cert, tls.key, 'file', problems);
  }
  if (r.allowedHosts !== undefined) {
    const hosts = r.allowedHosts;
    if (!Array.isArray(hosts) || !hosts.every((h) => typeof h === 'string' && /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/i.test(h))) {
      problems.push({ key: 'http.allowedHosts', source: 'file', message: 'must be an array of host names such as "myhost.local" (no scheme, no port)' });
    } else {
      config.http.allowedHosts = hosts as string[];
    }
  }
  if (r.corsOrigins !== undefined) {
    const origins = r.corsOrigins;
    if (!Array.isArray(origins) || !origins.every((o) => typeof o === 'string' && /^https?:\/\/[^/]+$/.test(o))) {
      problems.push({
        key: 'http.corsOrigins',
        source: 'file',
        message: 'must be an array of origins such as "https://app.example.com" (scheme and host, no path)',
      });
    } else {
      config.http.corsOrigins = origins as string[];
    }
  }
  for (const k of ['protectHealth', 'protectMetrics'] as const) {
    if (r[k] === undefined) continue;
    if (typeof r[k] !== 'boolean') problems.push({ key: `http.${k}`, source: 'file', message: 'must be true or false' });
    else config.http[k] = r[k];
  }
  for (const k of ['requestTimeoutMs', 'idleTimeoutMs'] as const) {
    if (r[k] === undefined) continue;
    const ms = parseDuration(r[k]);
    if (ms === null || ms < 100) problems.push({ key: `http.${k}`, source: 'file', message: 'must be a duration of at least 100 ms, e.g. "30s"' });
    else config.http[k] = ms;
  }
  for (const k of HTTP_COUNTS) {
    if (r[k] === undefined) continue;
    const min = k === 'maxEventStreamBytes' ? 1024 : 1;
    if (typeof r[k] !== 'number' || !Number.isInteger(r[k]) || (r[k] as number) < min)
      problems.push({ key: `http.${k}`, source: 'file', message: `must be a whole number >= ${min}` });
    else config.http[k] = r[k] as number;
  }
}

const HEALTH_COUNTS = ['minWorkers', 'maxQueued'] as const;
const HEALTH_DURATIONS = ['maxOldestQueuedAge', 'hangAfter', 'maxP95Wait', 'maxP95Run'] as const;

function applyHealth(config: Config, value: unknown, problems: Problem[]): void {
  const r = section(value, 'health', ['intervalMs', 'unservedAfterMs', 'stalledAfterMs', 'rules'], problems);
  if (r === null) return;
  const bad = (key: string, message: string): void => void problems.push({ key: `health.${key}`, source: 'file', message });
  if (r.intervalMs !== undefined) {
    const ms = parseDuration(r.intervalMs);
    if (ms === null || ms < 100 || ms > 60_000) bad('intervalMs', 'must be a duration from 100 ms to 60 s, e.g. "10s"');
    else config.health.intervalMs = ms;
  }
  if (r.unservedAfterMs !== undefined) {
    const ms = parseDuration(r.unservedAfterMs);
    if (ms === null) bad('unservedAfterMs', 'must be a duration such as "30s"');
    else config.health.unservedAfterMs = ms;
  }
  if (r.stalledAfterMs !== undefined) {
    const ms = parseDuration(r.stalledAfterMs);
    if (ms === null) bad('stalledAfterMs', 'must be a duration such as "60s", or 0 for off');
    else config.health.stalledAfterMs = ms;
  }
  if (r.rules === undefined) return;
  if (!Array.isArray(r.rules)) return bad('rules', 'must be an array of {"function": "glob", ...}');
  r.rules.forEach((raw: unknown, i) => {
    const at = `rules[${i}]`;
    const rule = section(raw, `health.${at}`, ['function', ...HEALTH_COUNTS, ...HEALTH_DURATIONS], problems);
    if (rule === null) return;
    const out: HealthRule = { function: '' };
    if (typeof rule.function !== 'string' || rule.function === '') bad(`${at}.function`, 'must be a glob over function names, e.g. "resize*"');
    else out.function = rule.function;
    for (const k of HEALTH_COUNTS) {
      if (rule[k] === undefined) continue;
      if (typeof rule[k] !== 'number' || !Number.isInteger(rule[k]) || (rule[k] as number) < 0) bad(`${at}.${k}`, 'must be a whole number >= 0');
      else out[k] = rule[k] as number;
    }
    for (const k of HEALTH_DURATIONS) {
      if (rule[k] === undefined) continue;
      const ms = parseDuration(rule[k]);
      if (ms === null) bad(`${at}.${k}`, 'must be a duration such as 30000, "30s" or "5m"');
      else out[k] = ms;
    }
    config.health.rules.push(out);
  });
}

function applyAlerts(config: Config, value: unknown, problems: Problem[]): void {
  const r = section(value, 'alerts', ['webhooks', 'quarantinePerMinute', 'retryFor', 'repeatEvery', 'undeliveredAfter'], problems);
  if (r === null) return;
  const bad = (key: string, message: string): void => void problems.push({ key: `alerts.${key}`, source: 'file', message });
  if (r.quarantinePerMinute !== undefined) {
    const n = r.quarantinePerMinute;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) bad('quarantinePerMinute', 'must be a whole number >= 0');
    else config.alerts.quarantinePerMinute = n;
  }
  const durations: [key: 'retryFor' | 'repeatEvery' | 'undeliveredAfter', min: number, hint: string][] = [
    ['retryFor', 1000, 'a duration of at least 1s, e.g. "24h"'],
    ['repeatEvery', 0, 'a duration such as "1h", or 0 to alert once'],
    ['undeliveredAfter', 1000, 'a duration of at least 1s, e.g. "5m"'],
  ];
  for (const [k, min, hint] of durations) {
    if (r[k] === undefined) continue;
    const ms = parseDuration(r[k]);
    if (ms === null || ms < min) bad(k, `must be ${hint}`);
    else config.alerts[k] = ms;
  }
  if (r.webhooks === undefined) return;
  if (!Array.isArray(r.webhooks)) return bad('webhooks', 'must be an array of {"url": "https://...", "secret"?: "...", "events"?: [...]}');
  r.webhooks.forEach((raw: unknown, i) => {
    const at = `webhooks[${i}]`;
    const hook = section(raw, `alerts.${at}`, ['url', 'secret', 'events'], problems);
    if (hook === null) return;
    const url = typeof hook.url === 'string' && URL.canParse(hook.url) ? new URL(hook.url) : null;
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) return bad(`${at}.url`, 'must be an http:// or https:// URL');
    if (hook.secret !== undefined && (typeof hook.secret !== 'string' || hook.secret === '')) return bad(`${at}.secret`, 'must be a non-empty string');
    const events = hook.events ?? [...ALERT_EVENTS];
    if (!Array.isArray(events) || events.length === 0 || events.some((e) => !(ALERT_EVENTS as readonly unknown[]).includes(e))) {
      return bad(`${at}.events`, `must be a non-empty list of ${ALERT_EVENTS.join(', ')}`);
    }
    config.alerts.webhooks.push({ url: url.href, secret: (hook.secret as string | undefined) ?? null, events: events as AlertEvent[] });
  });
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
