// `/`: the web dashboard (README, Dashboard), built by `npm run build` into dist/web (source in web/). Asset names
// carry a content hash, so they may be cached for a year; index.html names them, so it must be revalidated.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** The package root is three levels up from both src/http/routes/ (tsx) and dist/http/routes/ (built). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

const NOT_BUILT = `The Lazaret dashboard is not built on this server.

Build it in the package directory with:

    npm run build

(it runs "vite build", which writes dist/web), then restart "lazaret serve".
The HTTP API under /api, /health and /metrics work without it.
`;

export function dashboardRoutes(dir = DASHBOARD_DIR): FastifyPluginAsync {
  return async (app) => {
    if (!existsSync(`${dir}index.html`)) {
      app.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply.status(503).type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(NOT_BUILT),
      );
      return;
    }
    await app.register(fastifyStatic, {
      root: dir,
      // Files are looked up per request, so a rebuild while the server runs is served at once.
      wildcard: true,
      cacheControl: false,
      setHeaders: (reply, path) => {
        reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  };
}
