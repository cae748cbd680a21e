// The admin text protocol (README, Pointing existing clients at it). Each reply is one write.

import { tokenEquals } from '../../access.js';
import { ErrorCode, isLazaretError, LazaretError } from '../../errors.js';
import { escapeControls } from '../../protocol/escape.js';
import { changesState, err, listing, OK, okValue, parseAdminLine, plusEncode, type AdminCommand } from '../../protocol/admin.js';
import type { Connection } from '../connection.js';
import { availableWorkers } from '../../core/worker.js';

const VERBOSE_NAMES: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'FATAL',
  silent: 'FATAL',
};

/** Wrong `auth` tokens one connection may send before it is closed: enough for a typo, not for guessing. */
export const MAX_AUTH_FAILURES = 5;
const authFailures = new WeakMap<Connection, number>();

function authenticate(conn: Connection, token: string): string {
  const expected = conn.ctx.config.adminToken;
  if (expected !== null && tokenEquals(token, expected)) {
    conn.authorized = true;
    return OK;
  }
  const failures = (authFailures.get(conn) ?? 0) + 1;
  authFailures.set(conn, failures);
  conn.log.warn({ failures, limit: MAX_AUTH_FAILURES, tokenConfigured: expected !== null }, 'admin auth failed: wrong token');
  return err('PERMISSION_DENIED', 'bad+admin+token');
}

/**
 * A web page can make a browser post to the Gearman port (a form or a `fetch` of `text/plain` needs no
 * preflight), and every body line would be read as an admin command with loopback's trust: `shutdown`
 * from any site the operator visits. No admin command looks like an HTTP request line or a Host header,
 * so the connection ends on the first one, before the body is read.
 */
const HTTP_REQUEST_LINE = /^[A-Z]+ \S+ HTTP\/\d(\.\d)?\r?$/;
const HOST_HEADER = /^host:/i;

export function handleAdminLine(conn: Connection, line: string): void {
  if (HTTP_REQUEST_LINE.test(line) || HOST_HEADER.test(line)) {
    throw new LazaretError(ErrorCode.HTTP_ON_GEARMAN, 'HTTP request on the Gearman port; use the HTTP port');
  }
  const cmd = parseAdminLine(line);
  if (cmd.kind === 'auth') {
    conn.reply(authenticate(conn, cmd.token));
    if ((authFailures.get(conn) ?? 0) >= MAX_AUTH_FAILURES) {
      conn.log.warn({ limit: MAX_AUTH_FAILURES }, 'admin connection closed after too many wrong tokens');
      conn.end();
    }
    return;
  }
  if (changesState(cmd) && !conn.authorized) {
    conn.log.warn({ command: cmd.kind }, 'admin command refused: not loopback and no admin token');
    conn.reply(err('PERMISSION_DENIED', 'this+command+changes+state;+send+"auth+TOKEN"+first+or+connect+from+loopback'));
    return;
  }
  if (cmd.kind === 'shutdown') {
    // Reply first: a stop without grace closes every connection, this one included, before returning.
    conn.reply(OK);
    conn.ctx.shutdown(cmd.graceful);
    return;
  }
  if (cmd.kind === 'showJobs' || cmd.kind === 'showUniqueJobs' || cmd.kind === 'cancelJob') {
    // These read the store (jobs beyond the windows): the answer keeps its place among the replies.
    const answer = conn.defer();
    runStored(conn, cmd).then(answer, (e: unknown) => {
      conn.log.error({ err: e }, 'admin command could not read the store');
      answer(err('STORE_ERROR', 'the+store+could+not+be+read'));
    });
    return;
  }
  conn.reply(run(conn, cmd));
}

/** Listings of every job (memory and store) and `cancel job`, whose job may be in the store only. One reply each, written at once. */
async function runStored(conn: Connection, cmd: Extract<AdminCommand, { kind: 'showJobs' | 'showUniqueJobs' | 'cancelJob' }>): Promise<string> {
  const { engine } = conn.ctx;
  if (cmd.kind === 'cancelJob') return (await engine.cancel(cmd.handle)) ? OK : err('UNKNOWN_JOB');
  const lines: string[] = [];
  for await (const page of engine.allJobs()) {
    for (const j of page) {
      if (cmd.kind === 'showJobs') lines.push(`${escapeControls(j.handle)}\t${j.retries}\t0\t${j.durable ? 1 : 0}`);
      // A unique that is exactly "." would end the listing early.
      else lines.push(j.unique === '.' ? '\\x2e' : escapeControls(j.unique));
    }
  }
  return listing(lines);
}

function run(conn: Connection, cmd: AdminCommand): string {
  const { engine } = conn.ctx;
  switch (cmd.kind) {
    case 'invalid':
      return cmd.reply;
    // The worker column counts workers that can take a job: a stuck one (docs/observability.md) is
    // left out, so a script that alerts on 0 workers sees the outage. The line format is gearmand's.
    // Names, ids and unique keys come from peers: escaped, so none can forge a row or end a listing.
    case 'status':
      return listing([...engine.functions.all()].map((f) => `${escapeControls(f.name)}\t${f.total}\t${f.running}\t${availableWorkers(f)}`));
    case 'prioritystatus':
      return listing(
        [...engine.functions.all()].map(
          (f) =>
            `${escapeControls(f.name)}\t${f.queued[0] + f.scheduled[0]}\t${f.queued[1] + f.scheduled[1]}\t${f.queued[2] + f.scheduled[2]}\t${availableWorkers(f)}`,
        ),
      );
    case 'workers':
      return listing(
        [...conn.ctx.connections].map((c) => {
          const fns = c.worker ? [...c.worker.abilities.keys()].reverse() : [];
          return `${c.id} ${c.address} ${escapeControls(c.clientId)} :${fns.map((f) => ` ${escapeControls(f)}`).join('')}`;
        }),
      );
    case 'version':
      return okValue(conn.ctx.version);
    case 'verbose':
      return okValue(VERBOSE_NAMES[conn.ctx.log.level] ?? 'INFO');
    case 'getpid':
      return okValue(process.pid);
    case 'showJobs':
    case 'showUniqueJobs':
    case 'cancelJob':
      throw new Error(`${cmd.kind} is answered by runStored()`);
    case 'createFunction':
      try {
        engine.functions.admit(cmd.name).pinned = true;
      } catch (e) {
        if (!isLazaretError(e)) throw e;
        return err(e.code === ErrorCode.TOO_MANY_FUNCTIONS ? 'TOO_MANY_FUNCTIONS' : 'INVALID_FUNCTION_NAME', plusEncode(e.message));
      }
      return OK;
    case 'dropFunction':
      switch (engine.dropFunction(cmd.name)) {
        case 'ok':
          return OK;
        case 'not_found':
          return err('function', 'not found');
        case 'busy':
          return err('there', 'are still connected workers, executing clients or queued jobs');
      }
      return OK;
    case 'maxqueue': {
      const fn = engine.functions.get(cmd.name);
      if (fn) fn.maxqueue = cmd.limits;
      return OK;
    }
    case 'shutdown':
      return OK; // answered in handleAdminLine, before the server stops
    case 'auth':
      return authenticate(conn, cmd.token);
  }
}
