// /api/quarantine: list, inspect, requeue, edit, purge quarantined jobs (docs/quarantine.md).

import type { FastifyPluginAsync } from 'fastify';
import { attemptView, iso } from '../../core/handoff.js';
import { PRIORITY_NAMES, QUARANTINE_REASONS, type QuarantineReason } from '../../domain.js';
import { ErrorCode, LazaretError } from '../../errors.js';
import type { QuarantineFilter, QuarantineRow, QuarantineSummary } from '../../core/records.js';
import { actorOf } from '../actor.js';
import { historyView } from '../history-view.js';
import {
  type PurgedAnswer,
  purgedSchema,
  type QuarantineEntryAnswer,
  type QuarantineHistoryAnswer,
  quarantineEntrySchema,
  quarantineHistorySchema,
  quarantineListSchema,
  type QuarantineSummaryAnswer,
  type RequeuedAnswer,
  requeuedSchema,
} from '../schemas.js';
import type { HttpContext } from '../server.js';

const PREVIEW_BYTES = 1024;

function badRequest(message: string): LazaretError {
  return new LazaretError(ErrorCode.BAD_REQUEST, message);
}

/** ISO time, or epoch milliseconds. */
function parseTime(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const text = String(value);
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw badRequest(`${name} must be an ISO time or epoch milliseconds, got "${text}"`);
  return ms;
}

function parseIds(value: unknown): number[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : String(value).split(',');
  return list.map((v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw badRequest(`ids must be positive whole numbers, got "${String(v)}"`);
    return n;
  });
}

export function parseFilter(q: Record<string, unknown>): QuarantineFilter {
  const filter: QuarantineFilter = {};
  if (q.function !== undefined && q.function !== '') filter.function = String(q.function);
  if (q.reason !== undefined && q.reason !== '') {
    if (!QUARANTINE_REASONS.includes(q.reason as QuarantineReason)) throw badRequest(`reason must be one of ${QUARANTINE_REASONS.join(', ')}`);
    filter.reason = q.reason as QuarantineReason;
  }
  const since = parseTime(q.since, 'since');
  if (since !== undefined) filter.since = since;
  const before = parseTime(q.before ?? q.olderThan, 'before');
  if (before !== undefined) filter.before = before;
  const ids = parseIds(q.ids);
  if (ids !== undefined) filter.ids = ids;
  return filter;
}

export function summaryJson(e: QuarantineSummary): QuarantineSummaryAnswer {
  return {
    id: e.id,
    handle: e.handle,
    function: e.function,
    unique: e.unique,
    priority: PRIORITY_NAMES[e.priority],
    reason: e.reason,
    detail: e.detail,
    attempts: e.attempts,
    payloadBytes: e.payloadBytes,
    submittedAt: iso(e.submittedAt)!,
    quarantinedAt: iso(e.quarantinedAt)!,
  };
}

function entryJson(e: QuarantineRow): Omit<QuarantineEntryAnswer, 'lives' | 'audit'> {
  const preview = e.payload.subarray(0, PREVIEW_BYTES);
  return {
    ...summaryJson({ ...e, attempts: e.attempts.length, payloadBytes: e.payload.length }),
    deadline: iso(e.deadline),
    payloadBase64: e.payload.toString('base64'),
    payloadPreview: preview.toString('utf8'),
    payloadTruncated: e.payload.length > PREVIEW_BYTES,
    attemptList: e.attempts.map(attemptView),
  };
}

// Route documentation for the OpenAPI document, and the answer's schema: fastify serialises with it, so
// it lists every field the handler returns. The handlers validate their own input (parseFilter).
const doc = (summary: string, answer: object) => ({ summary, tags: ['quarantine'], response: { 200: answer } });
const idParams = { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9]+$' } } } as const;

const jobJson = (j: { id: number; handle: string; function: string }): RequeuedAnswer['requeued'][number] => ({
  id: j.id,
  handle: j.handle,
  function: j.function,
});

function parseId(raw: string): number {
  const [id] = parseIds(raw) ?? [];
  if (id === undefined) throw badRequest('id is required');
  return id;
}

export function quarantineRoutes(ctx: HttpContext): FastifyPluginAsync {
  const q = ctx.engine.quarantine;
  return async (app) => {
    app.get(
      '/',
      { schema: doc('List quarantined jobs, newest first (filters: function, reason, since, before, ids; paging: limit, beforeId)', quarantineListSchema) },
      async (request) => {
        const query = request.query as Record<string, unknown>;
        const limit = query.limit === undefined ? 100 : Number(query.limit);
        if (!Number.isInteger(limit) || limit < 1) throw badRequest('limit must be a whole number >= 1');
        const beforeId = query.beforeId === undefined ? undefined : parseId(String(query.beforeId));
        const { entries, total } = await q.list(parseFilter(query), { limit, ...(beforeId === undefined ? {} : { beforeId }) });
        const last = entries[entries.length - 1];
        return { total, entries: entries.map(summaryJson), nextBeforeId: entries.length === limit && last ? last.id : null };
      },
    );

    app.get(
      '/:id',
      { schema: { ...doc('One quarantined job: payload, every attempt, its earlier lives and audit trail', quarantineEntrySchema), params: idParams } },
      async (request) => {
        const id = parseId((request.params as { id: string }).id);
        const entry = await q.get(id);
        const answer: QuarantineEntryAnswer = { ...entryJson(entry), ...historyView(await q.history(id)) };
        return answer;
      },
    );

    // Answers also once the entry left quarantine (requeued, purged), for the retention period.
    app.get(
      '/:id/history',
      { schema: { ...doc("A job's earlier lives with every attempt, and who requeued, edited or purged it", quarantineHistorySchema), params: idParams } },
      async (request) => {
        const id = parseId((request.params as { id: string }).id);
        const entries = await q.history(id);
        if (entries.length === 0)
          throw new LazaretError(ErrorCode.NOT_FOUND, `No history for job id ${id}`, {
            hint: 'a job has history once it was requeued, edited or purged; it is kept for results.retention after the job is gone',
          });
        const answer: QuarantineHistoryAnswer = { id, ...historyView(entries) };
        return answer;
      },
    );

    app.post(
      '/requeue',
      { schema: doc('Requeue quarantined jobs with a fresh budget (ids or filters, or all: true)', requeuedSchema) },
      async (request): Promise<RequeuedAnswer> => {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const jobs = await q.requeue(parseFilter(body), body.all === true, actorOf(request, ctx.config));
        return { requeued: jobs.map(jobJson) };
      },
    );

    // The body is the new payload, raw (application/octet-stream) or JSON { payloadBase64 } / { payload }.
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    app.put(
      '/:id/payload',
      { schema: { ...doc('Replace the payload of a quarantined job, then requeue it', requeuedSchema), params: idParams } },
      async (request): Promise<RequeuedAnswer> => {
        const id = parseId((request.params as { id: string }).id);
        let payload: Buffer;
        if (Buffer.isBuffer(request.body)) payload = request.body;
        else {
          const body = (request.body ?? {}) as Record<string, unknown>;
          if (typeof body.payloadBase64 === 'string') payload = Buffer.from(body.payloadBase64, 'base64');
          else if (typeof body.payload === 'string') payload = Buffer.from(body.payload);
          else throw badRequest('send the new payload as application/octet-stream, or JSON {"payloadBase64": "..."}');
        }
        if (payload.length > ctx.config.limits.maxPayloadBytes) {
          throw new LazaretError(ErrorCode.PAYLOAD_TOO_LARGE, `Payload of ${payload.length} bytes is over the limit of ${ctx.config.limits.maxPayloadBytes}`);
        }
        return { requeued: [jobJson(await q.edit(id, payload, actorOf(request, ctx.config)))] };
      },
    );

    app.post(
      '/purge',
      { schema: doc('Delete quarantined jobs for good (ids or filters, or all: true)', purgedSchema) },
      async (request): Promise<PurgedAnswer> => {
        const body = (request.body ?? {}) as Record<string, unknown>;
        return { purged: await q.purge(parseFilter(body), body.all === true, actorOf(request, ctx.config)) };
      },
    );

    app.delete('/:id', { schema: { ...doc('Delete one quarantined job', purgedSchema), params: idParams } }, async (request): Promise<PurgedAnswer> => {
      const id = parseId((request.params as { id: string }).id);
      const purged = await q.purge({ ids: [id] }, false, actorOf(request, ctx.config));
      if (purged === 0) throw new LazaretError(ErrorCode.NOT_FOUND, `No quarantined job with id ${id}`);
      return { purged };
    });
  };
}
