// Every request the dashboard makes goes through here: the bearer token (kept in sessionStorage only),
// the API's error shape, and a 404 on a whole route meaning "this server has no such feature".

import { ErrorCode } from '../../src/errors.js';

const TOKEN_KEY = 'lazaret.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | null = null,
  ) {
    super(message);
  }

  /** A 404 from the router itself, not from Lazaret: this server has no such route (an older version). */
  get routeMissing(): boolean {
    return this.status === 404 && !this.code.startsWith('LAZ_');
  }
}

function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** The token dialog registers here; every 401 waits on one shared prompt, then the request is retried. */
type Prompt = (reason: string) => Promise<string | null>;
let prompt: Prompt | null = null;
let pending: Promise<string | null> | null = null;
/** Cancelled once: polling pages must not reopen the prompt every 2 s; the error offers it again. */
let declined = false;

export function onTokenNeeded(p: Prompt | null): void {
  prompt = p;
}

export function askToken(reason: string, force = false): Promise<string | null> {
  if (!prompt || (declined && !force)) return Promise.resolve(null);
  pending ??= prompt(reason).then((token) => {
    pending = null;
    declined = token === null;
    return token;
  });
  return pending;
}

async function toError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: a proxy's page, or an empty body
  }
  const e = (body as { error?: { code?: string; message?: string; hint?: string | null } } | null)?.error;
  if (e?.message) return new ApiError(res.status, e.code ?? ErrorCode.HTTP, e.message, e.hint ?? null);
  const m = (body as { message?: string } | null)?.message;
  return new ApiError(res.status, ErrorCode.HTTP, m ?? `${res.status} ${res.statusText}`);
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
  /** Answer with the body also on these statuses (for /health, which says 503 when unhealthy). */
  accept?: number[];
}

export async function api<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  for (let retried = false; ; retried = true) {
    // x-lazaret-client: recorded in the audit trail of what this request changes.
    const headers: Record<string, string> = { accept: 'application/json', 'x-lazaret-client': 'dashboard' };
    const token = savedToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? null : JSON.stringify(opts.body),
      signal: opts.signal ?? null,
    });
    if (res.ok || opts.accept?.includes(res.status)) return (await res.json()) as T;
    const err = await toError(res);
    if (res.status !== 401 || retried) throw err;
    const given = await askToken(err.message);
    if (given === null) throw err;
  }
}

/** Query string from the set values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
