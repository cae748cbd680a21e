// The CLI's way to a running server: its HTTP API (--server / LAZARET_URL, --token / LAZARET_TOKEN).

import { ErrorCode, LazaretError } from '../errors.js';
import { readCaFile, request, type HttpResponse } from '../http-client.js';
import { readSecretFile } from '../token-file.js';
import type { CliIO } from './io.js';

export interface ApiOptions {
  server?: string;
  token?: string;
  tokenFile?: string;
  caFile?: string;
}

/** --token, --token-file, LAZARET_TOKEN, LAZARET_TOKEN_FILE: the first one given. */
export function pickToken(opts: { token?: string; tokenFile?: string }, env: NodeJS.ProcessEnv): string | undefined {
  if (opts.token) return opts.token;
  if (opts.tokenFile) return readSecretFile(opts.tokenFile);
  if (env.LAZARET_TOKEN) return env.LAZARET_TOKEN;
  if (env.LAZARET_TOKEN_FILE) return readSecretFile(env.LAZARET_TOKEN_FILE);
  return undefined;
}

export const DEFAULT_URL = 'http://127.0.0.1:4731';

export class ApiClient {
  readonly base: string;
  readonly #token: string | undefined;
  readonly #ca: string | undefined;

  constructor(opts: ApiOptions, io: CliIO) {
    this.base = (opts.server ?? io.env.LAZARET_URL ?? DEFAULT_URL).replace(/\/+$/, '');
    this.#token = pickToken(opts, io.env);
    const caFile = opts.caFile ?? io.env.LAZARET_CA_FILE;
    this.#ca = caFile ? readCaFile(caFile) : undefined;
  }

  async request<T>(method: string, path: string, body?: unknown, raw?: Buffer): Promise<T> {
    // Recorded in the audit trail of what this request changes.
    const headers: Record<string, string> = { 'x-lazaret-client': 'cli' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let payload: string | Buffer | undefined;
    if (raw !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      payload = raw;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res: HttpResponse;
    try {
      res = await request(`${this.base}${path}`, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        ...(this.#ca === undefined ? {} : { ca: this.#ca }),
      });
    } catch (err) {
      throw new LazaretError(ErrorCode.SERVER_UNREACHABLE, `Cannot reach the Lazaret server at ${this.base}: ${(err as Error).message}`, {
        hint: /certificate|self.signed|CERT_/i.test((err as Error).message)
          ? 'the server certificate is not trusted: give its CA with --ca-file FILE or LAZARET_CA_FILE'
          : 'is `lazaret serve` running? point at it with --server URL or LAZARET_URL',
      });
    }
    const text = res.text;
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; hint?: string | null } } | null)?.error;
      const code = (Object.values(ErrorCode) as string[]).includes(e?.code ?? '')
        ? (e!.code as (typeof ErrorCode)[keyof typeof ErrorCode])
        : ErrorCode.BAD_REQUEST;
      throw new LazaretError(code, `${e?.message ?? text} (HTTP ${res.status})`, e?.hint ? { hint: e.hint } : {});
    }
    return json as T;
  }
}
