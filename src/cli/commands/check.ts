// `lazaret check`: the post-deploy check. Submits one real foreground job through a running server and
// real workers, and exits non-zero with the reason when it does not come back right and in time.
// By default it calls `lazaret.check` with a fresh payload and expects it back: any Worker created with
// `check: true` answers it (docs/client.md).

import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Client, CHECK_FUNCTION, ClientErrorCode, isClientError, JobError } from '../../client/index.js';
import { ErrorCode, LazaretError } from '../../errors.js';
import { durationArg, safe } from '../format.js';
import type { CliIO } from '../io.js';

export interface CheckOptions {
  server?: string;
  function?: string;
  payload?: string;
  expect?: string;
  timeout?: string;
  /** TLS to the Gearman servers, with gearmand's flag names. */
  ssl?: boolean;
  sslCaFile?: string;
  sslCertificate?: string;
  sslKey?: string;
}

/** TLS options from the flags (files read here), or false for plain text. */
function tlsFrom(opts: CheckOptions): { ca?: Buffer; cert?: Buffer; key?: Buffer } | false {
  if (!opts.ssl && opts.sslCaFile === undefined && opts.sslCertificate === undefined) return false;
  const read = (file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new LazaretError(ErrorCode.BAD_REQUEST, `Cannot read ${file}: ${(err as Error).message}`, {
        hint: '--ssl-ca-file, --ssl-certificate and --ssl-key take PEM files',
      });
    }
  };
  return { ca: read(opts.sslCaFile), cert: read(opts.sslCertificate), key: read(opts.sslKey) };
}

/** Exit codes, documented in the README and docs/client.md. */
export const CheckExit = { OK: 0, FAILED: 1, UNREACHABLE: 3, NO_WORKER: 4, TIMEOUT: 5 } as const;

export async function runCheck(opts: CheckOptions, io: CliIO): Promise<number> {
  const timeoutMs = durationArg(opts.timeout ?? '30s', '--timeout');
  const fn = opts.function ?? CHECK_FUNCTION;
  const payload = opts.payload ?? `lazaret check from ${hostname()} at ${new Date().toISOString()}`;
  const expect = opts.expect ?? (fn === CHECK_FUNCTION ? payload : undefined);
  const client = new Client({
    servers: opts.server ?? '127.0.0.1:4730',
    tls: tlsFrom(opts),
    connectTimeoutMs: Math.min(5_000, timeoutMs),
    requestTimeoutMs: Math.min(10_000, timeoutMs),
    jobTimeoutMs: timeoutMs,
  });
  const fail = (code: number, text: string): number => {
    io.err(`lazaret check: FAILED: ${safe(text)}\n`);
    return code;
  };
  try {
    const workers = await countWorkers(client, fn);
    if (workers.reachable.length === 0) return fail(CheckExit.UNREACHABLE, `no server reachable (${workers.errors.join('; ')})`);
    if (workers.count === 0) {
      const hint = fn === CHECK_FUNCTION ? 'start a worker with check: true (the library answers lazaret.check)' : `start a worker for ${fn}`;
      return fail(CheckExit.NO_WORKER, `no worker is registered for ${fn} on ${workers.reachable.join(', ')}; ${hint}`);
    }
    const started = Date.now();
    const job = client.submit(fn, payload);
    const result = (await job).toString();
    const ms = Date.now() - started;
    if (expect !== undefined && result !== expect) {
      return fail(CheckExit.FAILED, `${fn} on ${job.server} answered ${JSON.stringify(cut(result))}, expected ${JSON.stringify(cut(expect))}`);
    }
    io.out(`lazaret check: ok: ${safe(fn)} on ${job.server} answered in ${ms} ms (${workers.count} workers registered)\n`);
    return CheckExit.OK;
  } catch (err) {
    if (err instanceof JobError) return fail(CheckExit.FAILED, err.message);
    if (isClientError(err, ClientErrorCode.TIMEOUT)) return fail(CheckExit.TIMEOUT, `${err.message} (--timeout ${timeoutMs} ms)`);
    if (isClientError(err, ClientErrorCode.NO_SERVER) || isClientError(err, ClientErrorCode.CONNECTION_LOST)) return fail(CheckExit.UNREACHABLE, err.message);
    throw err;
  } finally {
    client.close();
  }
}

/** Workers registered for fn over every server that answers the admin `status`. */
async function countWorkers(client: Client, fn: string): Promise<{ count: number; reachable: string[]; errors: string[] }> {
  const out = { count: 0, reachable: [] as string[], errors: [] as string[] };
  for (const server of client.servers) {
    try {
      const fns = await client.functions(server);
      out.reachable.push(server);
      out.count += fns.find((f) => f.function === fn)?.workers ?? 0;
    } catch (err) {
      out.errors.push((err as Error).message);
    }
  }
  return out;
}

function cut(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
