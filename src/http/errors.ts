// LAZ_* code -> HTTP status, in one place; error bodies are { error: { code, message, hint } }.

import type { FastifyError, FastifyInstance } from 'fastify';
import { ErrorCode, isLazaretError, type ErrorCodeValue } from '../errors.js';

const STATUS: Partial<Record<ErrorCodeValue, number>> = {
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.UNAUTHORIZED]: 401,
  [ErrorCode.FORBIDDEN_ORIGIN]: 403,
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.QUEUE_FULL]: 503,
  [ErrorCode.TOO_MANY_STREAMS]: 503,
  [ErrorCode.SHUTTING_DOWN]: 503,
  [ErrorCode.STORE_BUSY]: 503,
  // The store is out of reach for now (PostgreSQL down, the network cut): the node reconnects by itself.
  [ErrorCode.STORE_UNREACHABLE]: 503,
  [ErrorCode.STORE_CONNECTION_LOST]: 503,
  [ErrorCode.BAD_FUNCTION_NAME]: 400,
  [ErrorCode.TOO_MANY_FUNCTIONS]: 503,
};

/**
 * Every path no route matched, and a known path asked with a method it does not take (the router tells
 * the two apart only by trying every method, so both are one 404): the same body as every other error, so
 * a client parses one shape. The dashboard needs no fallback page: its routes live in the URL's hash.
 */
export function registerNotFoundHandler(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    return reply.status(404).send({
      error: {
        code: ErrorCode.NOT_FOUND,
        message: `No route ${request.method} ${path.length > 200 ? `${path.slice(0, 200)}…` : path}`,
        hint: 'the API routes and their methods are listed in /api/openapi.json',
      },
    });
  });
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (isLazaretError(err)) {
      const status = STATUS[err.code] ?? 500;
      if (status >= 500) request.log.error({ err }, 'request failed');
      return reply.status(status).send({ error: { code: err.code, message: err.message, hint: err.hint ?? null } });
    }
    const fe = err as FastifyError;
    if (fe.validation || (fe.statusCode !== undefined && fe.statusCode < 500)) {
      return reply.status(fe.statusCode ?? 400).send({ error: { code: ErrorCode.BAD_REQUEST, message: fe.message, hint: null } });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: { code: ErrorCode.INTERNAL, message: 'Internal error; see the server log', hint: null } });
  });
}
