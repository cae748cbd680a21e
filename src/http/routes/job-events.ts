// GET /api/jobs/:handle/events: Server-Sent Events of one job's state and progress, ending when it
// finishes or leaves the server. A durable job is followed wherever it waits, memory or the store, until
// it finishes. The bounds live in http/event-streams.ts.

import type { FastifyReply, FastifyRequest } from 'fastify';
import { peerAddress } from '../../access.js';
import type { EventStreams } from '../event-streams.js';
import type { HttpContext } from '../server.js';
import { findJob, notFound } from '../find-job.js';
import { liveJobView, type JobView } from '../views.js';

const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed', 'expired', 'quarantined']);

export async function streamJobEvents(
  ctx: HttpContext,
  streams: EventStreams,
  request: FastifyRequest<{ Params: { handle: string } }>,
  reply: FastifyReply,
): Promise<void> {
  const { engine } = ctx;
  const handle = request.params.handle;
  const live = engine.job(handle);
  // Looked up before any await below, so no event of a job in memory can slip by unseen. A job only the
  // store holds is looked up there; what it does meanwhile the stream's first look-up catches.
  const found: JobView | null = live ? liveJobView(live) : await findJob(ctx, handle);
  if (found === null) throw notFound(handle);
  const following = !FINISHED.has(found.state);
  if (following) streams.admit(handle);

  reply.hijack();
  const res = reply.raw;
  // Hijacked, fastify sends nothing itself: carry over what hooks set (CORS, security headers) by hand.
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  if (!following) {
    res.end(`event: state\ndata: ${JSON.stringify(found)}\n\n`);
    return;
  }
  // Not in memory and not finished: the store has it, so it is durable.
  streams.follow(handle, live ? live.durable : true, found, res, peerAddress(request.socket.remoteAddress));
}
