// /api/nodes: the nodes of the store, as their leases there say (several nodes share a PostgreSQL
// store; a SQLite one has this node alone). Lease times are the store's clock, never this node's.

import type { FastifyPluginAsync } from 'fastify';
import { iso } from '../../core/handoff.js';
import { type NodeAnswer, type NodeListAnswer, nodeListSchema } from '../schemas.js';
import type { HttpContext } from '../server.js';

export function nodeRoutes(ctx: HttpContext): FastifyPluginAsync {
  const { engine } = ctx;
  return async (app) => {
    app.get(
      '/nodes',
      {
        schema: {
          summary: "The nodes sharing this node's store: addresses, version, lease age, workers and jobs held; the store's schema version",
          tags: ['nodes'],
          response: { 200: nodeListSchema },
        },
      },
      async (): Promise<NodeListAnswer> => {
        const [rows, schemaVersion] = await Promise.all([engine.store.nodesList(), engine.store.schemaVersion()]);
        const nodes = rows.map(
          (r): NodeAnswer => ({
            name: r.name,
            self: r.name === ctx.config.cluster.node,
            epoch: r.epoch,
            gearman: r.info.gearman,
            http: r.info.http,
            version: r.info.version,
            startedAt: iso(r.startedAt)!,
            leaseAgeMs: Math.max(0, r.now - r.renewedAt),
            expiresInMs: r.expiresAt === null ? null : r.expiresAt - r.now,
            // Dead to its peers, though none has rescued its jobs yet.
            expired: r.expiresAt !== null && r.expiresAt < r.now,
            workers: r.info.workers,
            workersTotal: r.info.workersTotal,
            jobsHeld: r.info.jobsHeld,
          }),
        );
        return { store: engine.store.describe(), schemaVersion, nodes };
      },
    );
  };
}
