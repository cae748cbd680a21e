// A bearer token guards the API. Without a configured token, only loopback may change state;
// with one, every /api request from beyond loopback must carry it. /health and /metrics follow the same
// rule when http.protectHealth / http.protectMetrics say so.
//
// The rule is attached to each route when it is registered (its pattern, not a request's URL), and read
// back from the route the router actually matched: the router decodes `%61pi` to `api`, so any check on
// the raw URL text could be walked around. A route added later under /api is guarded without more code.

import { isLoopback, peerAddress, tokenEquals } from '../access.js';
import type { AuthFailureLog } from './auth-failures.js';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Config } from '../config.js';
import { ErrorCode, LazaretError } from '../errors.js';

/** Which door a route belongs to; `open` routes (the dashboard's files, 404s) need nothing. */
export type AuthClass = 'api' | 'health' | 'metrics' | 'open';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthClass;
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  auth: AuthClass;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route registered on this app with its auth class (what tests enumerate). */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return tables.get(app) ?? [];
}

function classify(url: string): AuthClass {
  if (url === '/api' || url.startsWith('/api/')) return 'api';
  if (url === '/health') return 'health';
  if (url === '/metrics') return 'metrics';
  return 'open';
}

/** `Bearer` is case-insensitive (RFC 9110 auth-scheme); one or more spaces before the token. */
export function bearerToken(header: string | undefined): string | null {
  const m = header === undefined ? null : /^bearer +(\S+) *$/i.exec(header);
  return m ? m[1]! : null;
}

function guarded(auth: AuthClass | undefined, config: Readonly<Config>): boolean {
  if (auth === 'api') return true;
  if (auth === 'health') return config.http.protectHealth;
  if (auth === 'metrics') return config.http.protectMetrics;
  return false;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The host name a request was addressed to, lower case, without its port (`[::1]` keeps its brackets).
 * null when the header is missing or malformed.
 */
export function hostName(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d{1,5})?$/i.exec(header.trim());
  return m ? m[1]!.toLowerCase() : null;
}

/**
 * A loopback peer is only trusted when it also addressed us by a loopback name: a web page whose own DNS
 * name was rebound to 127.0.0.1 reaches us from loopback too, but with its own name in Host.
 */
export function loopbackTrusted(request: FastifyRequest, config: Readonly<Config>): boolean {
  if (!config.trustLoopback || !isLoopback(request.socket.remoteAddress)) return false;
  const name = hostName(request.headers.host);
  return name !== null && (LOOPBACK_NAMES.has(name) || config.http.allowedHosts.some((h) => h.toLowerCase() === name));
}

export function authorize(request: FastifyRequest, config: Readonly<Config>, failures?: AuthFailureLog): void {
  const token = config.adminToken;
  const given = bearerToken(request.headers.authorization);
  if (token !== null && given !== null && tokenEquals(given, token)) return;
  if (loopbackTrusted(request, config)) return;
  // A missing token is a client not set up yet; a wrong one may be someone guessing.
  if (given !== null) {
    failures?.record({
      peer: peerAddress(request.socket.remoteAddress),
      method: request.method,
      route: request.routeOptions.url ?? request.url,
      tokenConfigured: token !== null,
    });
  }
  if (token === null) {
    throw new LazaretError(ErrorCode.UNAUTHORIZED, 'The API is open to loopback only until an admin token is configured', {
      hint: 'set adminToken (LAZARET_ADMIN_TOKEN) on the server and send it as "Authorization: Bearer TOKEN"',
    });
  }
  throw new LazaretError(ErrorCode.UNAUTHORIZED, 'Missing or wrong bearer token', {
    hint: 'send "Authorization: Bearer TOKEN" (lazaret CLI: --token or LAZARET_TOKEN)',
  });
}

/** Must run before any route is registered: the onRoute hook only sees routes added after it. */
export function classifyRoutes(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route: RouteOptions) => {
    const auth = route.config?.auth ?? classify(route.url);
    route.config = { ...route.config, auth };
    for (const method of [route.method].flat()) table.push({ method, url: route.url, auth });
  });
}

/** After CORS, so a browser can read the 401 of a cross-origin call. */
export function registerAuth(app: FastifyInstance, config: Readonly<Config>, failures?: AuthFailureLog): void {
  app.addHook('onRequest', async (request) => {
    if (guarded(request.routeOptions.config?.auth, config)) authorize(request, config, failures);
  });
  if (failures !== undefined) app.addHook('onClose', async () => failures.close());
}
