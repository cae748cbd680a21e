// /api/jobs: submit background jobs, and follow any job (submitted here or over Gearman) by its handle —
// what a web page polls, or streams, instead of asking the database (docs/http-api.md).

import type { FastifyPluginAsync } from 'fastify';
import { checkFunctionName } from '../../core/functions.js';
import type { Job } from '../../core/job.js';
import { MAX_TAG_LENGTH, MAX_TAGS } from '../../core/tags.js';
import { checkTime, MAX_TIME_MS } from '../../core/times.js';
import { ErrorCode, LazaretError } from '../../errors.js';
import type { OutcomeRow } from '../../core/records.js';
import { PRIORITY_NAMES, type Priority, type PriorityName } from '../../domain.js';
import { errorSchema, jobSchema } from '../schemas.js';
import type { HttpContext } from '../server.js';
import { liveJobView, outcomeView, type JobView } from '../views.js';
import { findJob, notFound } from '../find-job.js';
import { EventStreams } from '../event-streams.js';
import { streamJobEvents } from './job-events.js';

const time = {
  anyOf: [
    { type: 'string', format: 'date-time' },
    { type: 'integer', minimum: 0, maximum: MAX_TIME_MS },
  ],
};

interface SubmitBody {
  function: string;
  payload?: string;
  payloadBase64?: string;
  priority?: PriorityName;
  unique?: string;
  runAt?: string | number;
  deadline?: string | number;
  tags?: string[];
}

interface FindQuery {
  unique?: string;
  tag?: string;
  function?: string;
  limit?: number;
}

const handleParams = { type: 'object', required: ['handle'], properties: { handle: { type: 'string' } } } as const;

function badRequest(message: string): LazaretError {
  return new LazaretError(ErrorCode.BAD_REQUEST, message);
}

function epoch(value: string | number | undefined, name: string): number | null {
  if (value === undefined) return null;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) throw badRequest(`${name} must be an ISO time or epoch milliseconds`);
  return checkTime(ms, name);
}

function matches(job: Job, q: FindQuery): boolean {
  return (
    (q.function === undefined || job.fn.name === q.function) &&
    (q.unique === undefined || (job.unique !== '' && job.unique === q.unique)) &&
    (q.tag === undefined || job.tags.includes(q.tag))
  );
}

const withoutResult = ({ result: _result, ...rest }: JobView): JobView => rest;

export function jobRoutes(ctx: HttpContext): FastifyPluginAsync {
  const { engine } = ctx;
  return async (app) => {
    const { maxEventStreams, maxEventStreamsPerJob, maxEventStreamBytes, idleTimeoutMs } = ctx.config.http;
    const limits = { maxStreams: maxEventStreams, maxStreamsPerJob: maxEventStreamsPerJob, maxBufferedBytes: maxEventStreamBytes, idleTimeoutMs };
    const streams = new EventStreams(engine, limits, ctx.log.child({ component: 'http' }));
    // preClose: before fastify waits for open connections, which an event stream would keep open.
    app.addHook('preClose', async () => streams.close());
    app.post<{ Body: SubmitBody }>(
      '/',
      {
        schema: {
          summary: 'Submit a background job',
          tags: ['jobs'],
          body: {
            type: 'object',
            required: ['function'],
            additionalProperties: false,
            properties: {
              function: { type: 'string', minLength: 1 },
              payload: { type: 'string', description: 'UTF-8 payload' },
              payloadBase64: { type: 'string', description: 'binary payload, base64' },
              priority: { type: 'string', enum: PRIORITY_NAMES, default: 'normal' },
              unique: { type: 'string', description: 'jobs of one function with the same unique key coalesce' },
              runAt: time,
              deadline: time,
              tags: {
                type: 'array',
                maxItems: MAX_TAGS,
                items: { type: 'string', minLength: 1, maxLength: MAX_TAG_LENGTH },
                description: 'by convention key:value, e.g. user_id:42',
              },
            },
          },
          response: {
            201: { type: 'object', properties: { handle: { type: 'string' }, created: { type: 'boolean' } } },
            '4xx': errorSchema,
            '5xx': errorSchema,
          },
        },
      },
      async (request, reply) => {
        const b = request.body;
        if (b.payload !== undefined && b.payloadBase64 !== undefined) throw badRequest('send payload or payloadBase64, not both');
        checkFunctionName(b.function, ctx.config.limits.maxFunctionNameBytes);
        const unique = b.unique ?? '';
        if (Buffer.byteLength(unique) > ctx.config.limits.maxUniqueBytes || unique.includes('\0')) {
          throw badRequest(`unique must be at most ${ctx.config.limits.maxUniqueBytes} bytes, without NUL`);
        }
        const payload = b.payloadBase64 !== undefined ? Buffer.from(b.payloadBase64, 'base64') : Buffer.from(b.payload ?? '');
        const { job, created, ready } = engine.submit({
          fn: b.function,
          unique,
          payload,
          priority: PRIORITY_NAMES.indexOf(b.priority ?? 'normal') as Priority,
          background: true,
          runAt: epoch(b.runAt, 'runAt'),
          deadline: epoch(b.deadline, 'deadline'),
          ...(b.tags === undefined ? {} : { tags: [...new Set(b.tags)] }),
        });
        // Answered only once the job is stored, like JOB_CREATED over Gearman.
        const told = ready === null ? { handle: job.handle, created } : await ready;
        return reply.status(201).send(told);
      },
    );

    app.get<{ Querystring: FindQuery }>(
      '/',
      {
        schema: {
          summary: 'Find live and recently finished jobs',
          tags: ['jobs'],
          querystring: {
            type: 'object',
            properties: {
              unique: { type: 'string' },
              tag: { type: 'string' },
              function: { type: 'string' },
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            },
          },
          response: { 200: { type: 'object', properties: { jobs: { type: 'array', items: jobSchema } } }, '4xx': errorSchema },
        },
      },
      async (request) => {
        const q = request.query;
        const limit = q.limit ?? 100;
        const jobs: JobView[] = [];
        for (const job of engine.jobs()) {
          if (jobs.length >= limit) break;
          if (job.state !== 'done' && matches(job, q)) jobs.push(withoutResult(liveJobView(job)));
        }
        if (jobs.length < limit) {
          const filter = { limit: limit - jobs.length, ...pick(q) };
          const done: OutcomeRow[] = await engine.results.find(filter);
          jobs.push(...done.map((o) => withoutResult(outcomeView(o))));
        }
        return { jobs };
      },
    );

    app.get<{ Params: { handle: string } }>(
      '/:handle',
      {
        schema: {
          summary: 'One job: state, progress, attempts, once completed its result, and its earlier lives and audit trail',
          tags: ['jobs'],
          params: handleParams,
          response: { 200: jobSchema, '4xx': errorSchema },
        },
      },
      async (request) => {
        const view = await findJob(ctx, request.params.handle, { history: true });
        if (view === null) throw notFound(request.params.handle);
        return view;
      },
    );

    app.get<{ Params: { handle: string } }>(
      '/:handle/events',
      {
        schema: {
          summary: 'Server-Sent Events: `state` and `progress` of one job, until it finishes',
          tags: ['jobs'],
          params: handleParams,
          produces: ['text/event-stream'],
          response: { 200: { description: 'event stream; each data line is the job JSON', type: 'string' }, '4xx': errorSchema },
        },
      },
      async (request, reply) => streamJobEvents(ctx, streams, request, reply),
    );
  };
}

function pick(q: FindQuery): { unique?: string; tag?: string; function?: string } {
  const out: { unique?: string; tag?: string; function?: string } = {};
  if (q.unique !== undefined) out.unique = q.unique;
  if (q.tag !== undefined) out.tag = q.tag;
  if (q.function !== undefined) out.function = q.function;
  return out;
}
