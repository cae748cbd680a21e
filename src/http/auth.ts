// A bearer token guards the API. Without a configured token, only loopback may change state;
// with one, every /api request from beyond loopback must carry it (DESIGN.md, Surfaces).

import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { ErrorCode, LazaretError } from '../errors.js';

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || a.startsWith('127.');
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function registerAuth(app: FastifyInstance, config: Readonly<Config>): void {
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/')) return;
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
