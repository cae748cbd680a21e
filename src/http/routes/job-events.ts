// GET /api/jobs/:handle/events: Server-Sent Events of one job's state and progress, ending when it
// finishes or leaves the server. The bounds live in http/event-streams.ts.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { peerAddress } from '../../access.js';
import type { EventStreams } from '../event-streams.js';
import type { HttpContext } from '../server.js';
import { findJob, notFound } from '../find-job.js';

export async function streamJobEvents(
  ctx: HttpContext,
  streams: EventStreams,
  request: FastifyRequest<{ Params: { handle: string } }>,
  reply: FastifyReply,
): Promise<void> {
  const { engine } = ctx;
  const handle = request.params.handle;
  const live = engine.job(handle);
  // Looked up before any await below, so no event of this job can slip by unseen.
  const finished = live ? null : await findJob(ctx, handle);
  if (!live && finished === null) throw notFound(handle);
  if (live) streams.admit(handle);

  reply.hijack();
  const res = reply.raw;
  // Hijacked, fastify sends nothing itself: carry over what hooks set (CORS, security headers) by hand.
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  if (!live) {
    res.end(`event: state\ndata: ${JSON.stringify(finished)}\n\n`);
    return;
  }
  streams.follow(live, res, peerAddress(request.socket.remoteAddress));
}
