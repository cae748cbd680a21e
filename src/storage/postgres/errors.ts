// Turns whatever node-postgres throws into a LazaretError, so core never sees a driver error type. The
// PostgreSQL SQLSTATE (or the socket error code) stays in the message: it is what an operator searches for.
// `where` is the server as describe() gives it: never the password.

import { ErrorCode, LazaretError } from '../../errors.js';

/** Socket errors met while connecting: nothing was sent, nothing was done. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL']);
/** Socket errors on a connection that was working. */
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

interface DriverError {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

function codeOf(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as DriverError;
  if (typeof e.code === 'string') return e.code;
  // Node's happy-eyeballs connect fails with an AggregateError of one error per address.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = codeOf(inner);
      if (code !== null) return code;
    }
  }
  return null;
}

function messageOf(err: unknown): string {
  if (err instanceof Error && err.message !== '') return err.message;
  if (typeof err === 'object' && err !== null && Array.isArray((err as DriverError).errors)) {
    return ((err as DriverError).errors as unknown[]).map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  return String(err);
}

export type ConnectionProblem = 'unreachable' | 'lost';

/** Whether `err` says the server could not be reached, or the connection broke; null for other errors. */
export function connectionProblem(err: unknown): ConnectionProblem | null {
  const code = codeOf(err);
  const text = messageOf(err);
  if (code !== null) {
    if (UNREACHABLE_CODES.has(code)) return 'unreachable';
    if (LOST_CODES.has(code)) return 'lost';
    // Login refused, no such database, too many connections, server starting up: not connected.
    if (code.startsWith('28') || code === '3D000' || code === '53300' || code === '57P03') return 'unreachable';
    // Class 08 (connection exception), admin or crash shutdown of the backend.
    if (code.startsWith('08') || code === '57P01' || code === '57P02') return 'lost';
  }
  if (/timeout expired|connection timeout/i.test(text)) return 'unreachable';
  // Query read timeout: the server stopped answering (query_timeout, see connection.ts).
  if (/Connection terminated|connection is closed|Client has encountered a connection error|not queryable|Query read timeout/i.test(text)) return 'lost';
  return null;
}

function hintFor(code: string | null): string | undefined {
  if (code === null) return undefined;
  if (code.startsWith('23')) {
    return 'A row clashed with one already stored (same id) or named a job that is not stored. This is a Lazaret bug: please report it with this message.';
  }
  if (code === '53100') return 'The disk holding the PostgreSQL data is full; free some space and retry.';
  if (code === '53200') return 'The PostgreSQL server ran out of memory; check its settings and load.';
  if (code === '42501') return "The database user lacks a privilege on the store's schema; grant it (see docs/architecture.md, Storage contract).";
  if (code === '3F000' || code === '42P01')
    return 'The store schema or one of its tables is missing: it was dropped or renamed outside Lazaret. Restore it from a backup.';
  if (code === '25006') return 'The server is read-only (a standby): point the store at the primary.';
  return undefined;
}

/** The connection could not be opened: a LazaretError naming the server (never its password). */
function unreachable(err: unknown, op: string, where: string): LazaretError {
  const code = codeOf(err);
  const login = code !== null && (code.startsWith('28') || code === '3D000');
  return new LazaretError(ErrorCode.STORE_UNREACHABLE, `Cannot connect to the PostgreSQL store ${where} for ${op} (${code ?? 'no code'}): ${messageOf(err)}`, {
    hint: login
      ? 'The server refused the login: check the user, its password and that the database exists (and pg_hba.conf allows this host).'
      : 'Check that PostgreSQL is running and listens at that host and port, and that this host can reach it.',
    cause: err,
  });
}

function lost(err: unknown, op: string, where: string): LazaretError {
  const unknownOutcome = op === 'write' || op.startsWith('quarantine') || op.startsWith('alerts');
  return new LazaretError(
    ErrorCode.STORE_CONNECTION_LOST,
    `The connection to the PostgreSQL store ${where} broke during ${op} (${codeOf(err) ?? 'no code'}): ${messageOf(err)}`,
    {
      hint: unknownOutcome
        ? 'The change may or may not have been committed before the connection went; the next operation opens a new connection. Check the PostgreSQL log and the network.'
        : 'The next operation opens a new connection. Check the PostgreSQL log and the network.',
      cause: err,
    },
  );
}

/** Maps an error thrown during `op` on the store at `where` to a LazaretError; a LazaretError passes through. */
export function toStoreError(err: unknown, op: string, where: string): LazaretError {
  if (err instanceof LazaretError) return err;
  const problem = connectionProblem(err);
  if (problem === 'unreachable') return unreachable(err, op, where);
  if (problem === 'lost') return lost(err, op, where);
  const code = codeOf(err);
  const text = messageOf(err);
  // Serialization failure, deadlock, lock not available, statement cancelled: worth a retry.
  if (code === '40001' || code === '40P01' || code === '55P03' || code === '57014') {
    return new LazaretError(ErrorCode.STORE_BUSY, `PostgreSQL store ${where} could not complete ${op} under concurrent access (${code}: ${text}).`, {
      hint: 'Another session held the rows or locks this needed; it is safe to retry.',
      cause: err,
    });
  }
  const hint = hintFor(code);
  return new LazaretError(
    ErrorCode.STORE_FAILED,
    `PostgreSQL store ${where} failed during ${op} (${code ?? 'not a PostgreSQL error'}): ${text}`,
    hint === undefined ? { cause: err } : { hint, cause: err },
  );
}

export { corruptRow } from '../narrow.js';
