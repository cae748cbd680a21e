// JSON schemas of the API's shapes: fastify validates and serialises with them, and @fastify/swagger
// turns them into /api/openapi.json (docs/http-api.md is the overview).

import { PRIORITY_NAMES, QUARANTINE_REASONS } from '../domain.js';
import type { Optional, Shape } from './shape.js';

// Literal types all the way down, so http/shape.ts can turn each schema into the TypeScript type of the answer.
const nullable = <const T extends string, const E extends object = object>(type: T, extra?: E) => ({ type: [type, 'null'] as const, ...(extra ?? ({} as E)) });
const isoTime = { type: 'string', format: 'date-time' } as const;

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, hint: nullable('string') },
    },
  },
} as const;

const attemptSchema = {
  type: 'object',
  properties: {
    n: { type: 'integer' },
    worker: { type: 'string' },
    startedAt: isoTime,
    endedAt: nullable('string', { format: 'date-time' }),
    outcome: nullable('string'),
    error: nullable('string'),
    evidence: nullable('object', {
      // Each field only when the worker gave it (docs/evidence.md).
      required: [],
      properties: {
        pid: { type: 'integer' },
        exitCode: { type: 'integer' },
        signal: { type: 'string' },
        stderr: { type: 'string' },
        errorClass: { type: 'string' },
        message: { type: 'string' },
      },
    }),
  },
} as const;

/** A job's earlier lives and audit trail (http/history-view.ts); on single-job answers only. */
export const historyProperties = {
  lives: {
    type: 'array',
    description: 'Lives that ended (quarantined then requeued or purged, or finished after a requeue), oldest first, each with every attempt',
    items: {
      type: 'object',
      properties: {
        life: { type: 'integer' },
        end: { type: 'string' },
        detail: nullable('string'),
        endedAt: isoTime,
        endedBy: { type: 'string' },
        attempts: { type: 'array', items: attemptSchema },
      },
    },
  },
  audit: {
    type: 'array',
    description: 'Who requeued, edited or purged the job and when: actor token|loopback|anonymous, client cli|dashboard|null, peer address',
    items: {
      type: 'object',
      properties: { at: isoTime, action: { type: 'string' }, actor: { type: 'string' }, client: nullable('string'), peer: nullable('string') },
    },
  },
} as const;

export const jobSchema = {
  type: 'object',
  properties: {
    handle: { type: 'string' },
    function: { type: 'string' },
    unique: { type: 'string' },
    priority: { type: 'string', enum: PRIORITY_NAMES },
    state: { type: 'string', enum: ['queued', 'scheduled', 'running', 'completed', 'failed', 'expired', 'quarantined'] },
    progress: nullable('object', { properties: { numerator: { type: 'integer' }, denominator: { type: 'integer' } } }),
    attempts: { type: 'integer' },
    submittedAt: isoTime,
    runAt: nullable('string', { format: 'date-time' }),
    deadline: nullable('string', { format: 'date-time' }),
    startedAt: nullable('string', { format: 'date-time' }),
    finishedAt: nullable('string', { format: 'date-time' }),
    tags: { type: 'array', items: { type: 'string' } },
    result: nullable('object', {
      description: 'WORK_COMPLETE data of a completed job, kept results.retention',
      properties: { base64: { type: 'string' }, text: nullable('string') },
    }),
    quarantineId: nullable('integer'),
    ...historyProperties,
  },
} as const;

const count = { type: 'integer' } as const;
const rate = { type: 'number' } as const;

export const functionSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    queued: { type: 'object', properties: { high: count, normal: count, low: count, total: count } },
    scheduled: count,
    running: count,
    /** Connected and not stuck: the workers that can take a job. */
    workers: count,
    stuckWorkers: count,
    oldestQueuedMs: nullable('integer'),
    quarantined: count,
    rates: { type: 'object', properties: { submittedPerMin: rate, completedPerMin: rate, failedPerMin: rate } },
  },
} as const;

export const workerSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    address: { type: 'string' },
    functions: { type: 'array', items: { type: 'string' } },
    connectedAt: isoTime,
    pid: nullable('integer'),
    job: nullable('object', {
      properties: { handle: { type: 'string' }, function: { type: 'string' }, startedAt: isoTime, runningMs: count, hung: { type: 'boolean' } },
    }),
    stuck: nullable('object', {
      properties: { handle: { type: 'string' }, function: { type: 'string' }, startedAt: isoTime, timedOutAt: isoTime, stuckMs: count },
    }),
  },
} as const;

export const impactRowSchema = {
  type: 'object',
  properties: {
    tag: { type: 'string' },
    jobs: count,
    waitedTooLong: count,
    failed: count,
    expired: count,
    quarantined: count,
    worstWaitMs: count,
  },
} as const;

export const impactSchema = {
  type: 'object',
  properties: { since: isoTime, until: isoTime, rows: { type: 'array', items: impactRowSchema } },
} as const;

export const supervisedSchema = {
  type: 'object',
  properties: {
    supervisor: { type: 'string' },
    host: { type: 'string' },
    stale: { type: 'boolean' },
    name: { type: 'string' },
    command: { type: 'string' },
    copies: { type: 'integer' },
    running: { type: 'integer' },
    restarts: { type: 'integer' },
    recycled: { type: 'integer' },
    flapping: { type: 'boolean' },
    lastExits: {
      type: 'array',
      items: { type: 'object', properties: { at: { type: 'string' }, code: { type: ['integer', 'null'] }, signal: { type: ['string', 'null'] } } },
    },
  },
} as const;

const quarantineSummarySchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    handle: { type: 'string' },
    function: { type: 'string' },
    unique: { type: 'string' },
    priority: { type: 'string', enum: PRIORITY_NAMES },
    reason: { type: 'string', enum: QUARANTINE_REASONS },
    detail: nullable('string'),
    attempts: count,
    payloadBytes: count,
    submittedAt: isoTime,
    quarantinedAt: isoTime,
  },
} as const;

export const quarantineListSchema = {
  type: 'object',
  properties: {
    total: count,
    entries: { type: 'array', items: quarantineSummarySchema },
    nextBeforeId: { ...nullable('integer'), description: 'The beforeId of the next page, null on the last one' },
  },
} as const;

export const quarantineEntrySchema = {
  type: 'object',
  properties: {
    ...quarantineSummarySchema.properties,
    deadline: nullable('string', { format: 'date-time' }),
    payloadBase64: { type: 'string' },
    payloadPreview: { type: 'string', description: 'The first 1024 bytes of the payload, as UTF-8' },
    payloadTruncated: { type: 'boolean' },
    attemptList: { type: 'array', items: attemptSchema },
    ...historyProperties,
  },
} as const;

export const quarantineHistorySchema = { type: 'object', properties: { id: { type: 'integer' }, ...historyProperties } } as const;

export const requeuedSchema = {
  type: 'object',
  properties: {
    requeued: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, handle: { type: 'string' }, function: { type: 'string' } } } },
  },
} as const;

export const purgedSchema = { type: 'object', properties: { purged: count } } as const;

// What GET /api/supervisors answers: each report as the supervisor sent it (http/routes/supervisors.ts
// validates it), with when it came and whether it is stale. Fields a supervisor may leave out are
// optional here too.
const exitSchema = {
  type: 'object',
  required: ['at', 'code', 'signal'],
  properties: {
    at: isoTime,
    code: nullable('integer'),
    signal: nullable('string'),
    pid: nullable('integer'),
    stderr: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

const programSchema = {
  type: 'object',
  required: ['name', 'command', 'copies', 'running', 'restarts', 'recycled', 'flapping', 'lastExits'],
  properties: {
    name: { type: 'string' },
    command: { type: 'string' },
    copies: count,
    running: count,
    restarts: count,
    recycled: count,
    flapping: { type: 'boolean' },
    lastExits: { type: 'array', items: exitSchema },
    pids: { type: 'array', items: { type: 'integer' } },
  },
} as const;

export const supervisorListSchema = {
  type: 'object',
  properties: {
    supervisors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          host: { type: 'string' },
          pid: { type: 'integer' },
          intervalMs: count,
          reportedAt: isoTime,
          stale: { type: 'boolean' },
          programs: { type: 'array', items: programSchema },
        },
      },
    },
  },
} as const;

/** A node of the store: the others, when several share it (PostgreSQL), and this one. */
const nodeSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    /** The node answering. */
    self: { type: 'boolean' },
    epoch: { type: 'integer' },
    gearman: { type: 'array', items: { type: 'string' } },
    http: nullable('string'),
    version: { type: 'string' },
    startedAt: isoTime,
    /** Since its lease was last renewed, by the store's clock. */
    leaseAgeMs: count,
    /** Until its lease runs out, by the store's clock; negative once it has (until a peer rescues it); null without a lease (SQLite). */
    expiresInMs: nullable('integer'),
    expired: { type: 'boolean' },
    /** Connected workers per function. */
    workers: { type: 'object', additionalProperties: { type: 'integer' } },
    /** Connected workers that can do some function, each once. */
    workersTotal: count,
    jobsHeld: count,
  },
} as const;

export const nodeListSchema = {
  type: 'object',
  properties: {
    store: { type: 'string' },
    schemaVersion: { type: 'integer' },
    nodes: { type: 'array', items: nodeSchema },
  },
} as const;

// The answers' TypeScript types, from the schemas above: what the dashboard (web/src/types.ts) and the
// CLI read.
export type JobAnswer = Optional<Shape<typeof jobSchema>, 'result' | 'lives' | 'audit'>;
export type AttemptAnswer = Shape<typeof attemptSchema>;
export type LifeAnswer = Shape<typeof historyProperties.lives.items>;
export type AuditAnswer = Shape<typeof historyProperties.audit.items>;
export type FunctionAnswer = Shape<typeof functionSchema>;
export type WorkerAnswer = Shape<typeof workerSchema>;
export type NodeAnswer = Omit<Shape<typeof nodeSchema>, 'workers'> & { workers: Record<string, number> };
export type NodeListAnswer = Omit<Shape<typeof nodeListSchema>, 'nodes'> & { nodes: NodeAnswer[] };
export type ImpactRowAnswer = Shape<typeof impactRowSchema>;
export type ImpactAnswer = Shape<typeof impactSchema>;
export type SupervisedAnswer = Shape<typeof supervisedSchema>;
export type QuarantineSummaryAnswer = Shape<typeof quarantineSummarySchema>;
export type QuarantineListAnswer = Shape<typeof quarantineListSchema>;
export type QuarantineEntryAnswer = Shape<typeof quarantineEntrySchema>;
export type QuarantineHistoryAnswer = Shape<typeof quarantineHistorySchema>;
export type RequeuedAnswer = Shape<typeof requeuedSchema>;
export type PurgedAnswer = Shape<typeof purgedSchema>;
export type SupervisorAnswer = Shape<typeof supervisorListSchema.properties.supervisors.items>;
export type SupervisorListAnswer = Shape<typeof supervisorListSchema>;
