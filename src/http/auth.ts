// A bearer token guards the API. Without a configured token, only loopback may change state;
// with one, every /api request from beyond loopback must carry it (docs/http-api.md). /health and
// /metrics follow the same rule when http.protectHealth / http.protectMetrics say so.

import { isLoopback, tokenEquals } from '../access.js';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { ErrorCode, LazaretError } from '../errors.js';

function tokenMatches(header: string | undefined, token: string): boolean {
  return header?.startsWith('Bearer ') === true && tokenEquals(header.slice(7), token);
}

function guarded(url: string, config: Readonly<Config>): boolean {
  if (url.startsWith('/api/')) return true;
  const path = url.split('?', 1)[0];
  return (path === '/health' && config.http.protectHealth) || (path === '/metrics' && config.http.protectMetrics);
}

export function registerAuth(app: FastifyInstance, config: Readonly<Config>): void {
  app.addHook('onRequest', async (request) => {
    if (!guarded(request.url, config)) return;
    const token = config.adminToken;
    const loopback = config.trustLoopback && isLoopback(request.socket.remoteAddress);
    if (token !== null && tokenMatches(request.headers.authorization, token)) return;
    if (loopback) return;
    if (token === null) {
      throw new LazaretError(ErrorCode.UNAUTHORIZED, 'The API is open to loopback only until an admin token is configured', {
        hint: 'set adminToken (LAZARET_ADMIN_TOKEN) on the server and send it as "Authorization: Bearer TOKEN"',
      });
    }
    throw new LazaretError(ErrorCode.UNAUTHORIZED, 'Missing or wrong bearer token', {
      hint: 'send "Authorization: Bearer TOKEN" (lazaret CLI: --token or LAZARET_TOKEN)',
    });
  });
}
