// GET /api/jobs/:handle/events: Server-Sent Events of one job's state and progress, ending when it
// finishes. Listeners are removed as soon as the client goes away.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Job } from '../../core/job.js';
import type { OutcomeRow } from '../../core/records.js';
import type { HttpContext } from '../server.js';
import { liveJobView, outcomeView, type JobView } from '../views.js';
import { findJob, notFound } from '../find-job.js';

/** A comment line now and then keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

export async function streamJobEvents(ctx: HttpContext, request: FastifyRequest<{ Params: { handle: string } }>, reply: FastifyReply): Promise<void> {
  const { engine } = ctx;
  const handle = request.params.handle;
  const live = engine.job(handle);
  // Looked up before any await below, so no event of this job can slip by unseen.
  const finished = live ? null : await findJob(ctx, handle);
  if (!live && finished === null) throw notFound(handle);

  reply.hijack();
  const res = reply.raw;
  // Hijacked, fastify sends nothing itself: carry over what hooks set (CORS headers) by hand.
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  const send = (event: string, view: JobView): void => void res.write(`event: ${event}\ndata: ${JSON.stringify(view)}\n\n`);

  if (!live) {
    send('state', finished!);
    res.end();
    return;
  }

  let lastState = '';
  const sendState = (view: JobView): void => {
    if (view.state === lastState) return;
    lastState = view.state;
    send('state', view);
  };
  const onChange = (...[job]: [Job, ...unknown[]]): void => {
    if (job === live && job.state !== 'done') sendState(liveJobView(job));
  };
  const onProgress = (job: Job): void => {
    if (job === live) send('progress', liveJobView(job));
  };
  const onFinished = (outcome: OutcomeRow): void => {
    if (outcome.handle !== handle) return;
    sendState(outcomeView(outcome));
    cleanup();
    res.end();
  };
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  const changes = ['job:created', 'job:queued', 'attempt:started', 'attempt:ended', 'job:retry'] as const;
  function cleanup(): void {
    clearInterval(keepalive);
    for (const e of changes) engine.off(e, onChange);
    engine.off('job:progress', onProgress);
    engine.off('job:finished', onFinished);
  }
  for (const e of changes) engine.on(e, onChange);
  engine.on('job:progress', onProgress);
  engine.on('job:finished', onFinished);
  request.raw.on('close', cleanup);
  res.on('close', cleanup);
  sendState(liveJobView(live));
}
