// The OpenAPI document, generated from the route schemas (never written by hand), at /api/openapi.json.
// Registered before the routes so @fastify/swagger sees every one of them.

import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../version.js';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'Lazaret HTTP API', version: VERSION, description: 'Overview: docs/http-api.md. Errors are { error: { code, message, hint } }.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'adminToken; needed from beyond loopback' } } },
      security: [{ bearer: [] }],
    },
  });
  app.get('/api/openapi.json', { schema: { summary: 'This document', tags: ['meta'] } }, async () => app.swagger());
}
