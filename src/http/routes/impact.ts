// /api/impact: the tags (users, accounts) whose jobs waited too long, failed, expired or were
// quarantined — the list one team had to build by hand after an outage.

import type { FastifyPluginAsync } from 'fastify';
import { parseDuration } from '../../duration.js';
import { impactReport } from '../../observe/impact.js';
import { ErrorCode, LazaretError } from '../../errors.js';
import { errorSchema, type ImpactAnswer, impactSchema } from '../schemas.js';
import type { HttpContext } from '../server.js';

interface ImpactQuerystring {
  since?: string;
  waitedLongerThan?: string;
  by?: string;
}

const DEFAULT_SINCE = '6h';
const DEFAULT_WAIT = '5m';

/** `6h` (that long ago), an ISO time, or epoch ms -> epoch ms. */
function sinceTime(value: string, now: number): number {
  const ago = /^\d+(\.\d+)?\s*[a-z]+$/.test(value) ? parseDuration(value) : null;
  if (ago !== null) return now - ago;
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new LazaretError(ErrorCode.BAD_REQUEST, `since must be a duration such as 6h or an ISO time, got "${value}"`);
  return t;
}

export function impactRoutes(ctx: HttpContext): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: ImpactQuerystring }>(
      '/impact',
      {
        schema: {
          summary: 'Tags whose jobs waited too long, failed, expired or were quarantined, worst first',
          tags: ['impact'],
          querystring: {
            type: 'object',
            properties: {
              since: { type: 'string', default: DEFAULT_SINCE, description: 'a duration back from now (6h, 30m) or an ISO time' },
              waitedLongerThan: { type: 'string', default: DEFAULT_WAIT, description: 'a duration (5m, 30s)' },
              by: { type: 'string', description: 'only tags of this key, e.g. user_id' },
            },
          },
          response: {
            200: impactSchema,
            '4xx': errorSchema,
          },
        },
      },
      async (request): Promise<ImpactAnswer> => {
        const q = request.query;
        const now = ctx.engine.clock.now();
        const since = sinceTime(q.since ?? DEFAULT_SINCE, now);
        const waitedLongerThan = parseDuration(q.waitedLongerThan ?? DEFAULT_WAIT);
        if (waitedLongerThan === null)
          throw new LazaretError(ErrorCode.BAD_REQUEST, `waitedLongerThan must be a duration such as 5m, got "${q.waitedLongerThan}"`);
        const rows = await impactReport(ctx.engine, { since, waitedLongerThan, ...(q.by ? { key: q.by } : {}) });
        return { since: new Date(since).toISOString(), until: new Date(now).toISOString(), rows };
      },
    );
  };
}
