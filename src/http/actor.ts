// Who is asking, for the audit trail of quarantine changes: derived on the route itself from what the
// request carries (a valid bearer token, else the loopback peer that was trusted), plus what the caller
// says it is (`X-Lazaret-Client: cli|dashboard`, sent by Lazaret's own CLI and dashboard).

import type { FastifyRequest } from 'fastify';
import { isLoopback, peerAddress, tokenEquals } from '../access.js';
import type { Config } from '../config.js';
import type { Actor } from '../core/history.js';

/** Kept short and plain: it is stored and shown to operators as given. */
const CLIENT = /^[a-z0-9][a-z0-9._-]{0,31}$/i;

export function actorOf(request: FastifyRequest, config: Readonly<Config>): Actor {
  const raw = request.headers['x-lazaret-client'];
  const client = typeof raw === 'string' && CLIENT.test(raw) ? raw.toLowerCase() : null;
  const peer = peerAddress(request.socket.remoteAddress);
  const auth = request.headers.authorization;
  const bearer = typeof auth === 'string' ? /^bearer\s+(.+)$/i.exec(auth.trim())?.[1] : undefined;
  if (config.adminToken !== null && bearer !== undefined && tokenEquals(bearer, config.adminToken)) return { actor: 'token', client, peer };
  return { actor: isLoopback(request.socket.remoteAddress) ? 'loopback' : 'anonymous', client, peer };
}
