// What browsers are told and what they are refused. A page on another site can make a browser send
// requests here (a form post, or a DNS name rebound to 127.0.0.1), so state changes that carry a
// foreign Origin are refused outright, and every response tells the browser not to frame, sniff or
// leak it.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { ErrorCode, LazaretError } from '../errors.js';

/** The dashboard is one script and one stylesheet from dist/web; the icon is a data: URL. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The origin this request was addressed to (scheme from the socket, host from the Host header). */
function ownOrigin(request: FastifyRequest): string | null {
  const host = request.headers.host;
  if (host === undefined) return null;
  const url = URL.canParse(`${request.protocol}://${host}`) ? new URL(`${request.protocol}://${host}`) : null;
  return url?.origin ?? null;
}

function normalized(origin: string): string | null {
  return URL.canParse(origin) ? new URL(origin).origin : null;
}

export function originAllowed(request: FastifyRequest, config: Readonly<Config>): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const given = normalized(origin);
  if (given === null || given === 'null') return false;
  if (given === ownOrigin(request)) return true;
  return config.http.corsOrigins.some((o) => normalized(o) === given);
}

export function registerBrowserGuards(app: FastifyInstance, config: Readonly<Config>): void {
  app.addHook('onRequest', async (request, reply) => {
    // Set here rather than onSend so a hijacked reply (the event stream) carries them too.
    reply.headers(SECURITY_HEADERS);
    if (SAFE_METHODS.has(request.method) || originAllowed(request, config)) return;
    throw new LazaretError(ErrorCode.FORBIDDEN_ORIGIN, `Changes from the web page at ${JSON.stringify(request.headers.origin)} are refused`, {
      hint: 'list that origin in http.corsOrigins if it may call the API from a browser',
    });
  });
}
