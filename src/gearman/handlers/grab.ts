// GRAB_JOB, GRAB_JOB_UNIQ, GRAB_JOB_ALL and PRE_SLEEP. A durable job is sent only once
// its attempt is stored.

import type { Job } from '../../core/job.js';
import type { Worker } from '../../core/worker.js';
import { NO_JOB, NOOP, response } from '../../protocol/encoder.js';
import { PacketType } from '../../protocol/packets.js';
import type { Connection } from '../connection.js';
import type { Handler } from './index.js';
import { findPeerProcess } from '../peer-process.js';

/** Longest a same-host worker's first job waits for its process to be found. */
// The lookup reads the newest processes first and usually answers in a few milliseconds, even on a
// loaded host. The wait stays under half a second: Perl's Gearman::Worker hangs up when a JOB_ASSIGN
// takes longer, which costs it a reconnect and the job a returned (uncharged) attempt.
const IDENTIFY_WAIT_MS = 400;

/** Same-host workers whose process is being looked up: their jobs are sent once it is known. */
const identifying = new WeakMap<Connection, Promise<void>>();

export function workerOf(conn: Connection): Worker {
  if (conn.worker) return conn.worker;
  const worker = conn.ctx.engine.addWorker(conn);
  conn.worker = worker;
  // A worker on this host is named by its pid, its death can be matched to its supervisor's report,
  // and its supervisor can be told when it is stuck.
  if (conn.sameHost) {
    const lookup = findPeerProcess(conn.peerPort, conn.localPort).then((found) => {
      identifying.delete(conn);
      if (found === null || conn.closed) return;
      conn.pid = found.pid;
      conn.pgid = found.pgid;
      conn.log.debug({ pid: found.pid, pgid: found.pgid }, 'worker process found');
      conn.ctx.engine.identified(worker);
    });
    identifying.set(conn, lookup);
  }
  return worker;
}

/**
 * Resolves once the worker's process is known (or after IDENTIFY_WAIT_MS): a worker that dies on its very
 * first job must already be known by pid for its crash evidence to find the attempt.
 */
function identified(conn: Connection): Promise<void> | null {
  const lookup = identifying.get(conn);
  if (lookup === undefined) return null;
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, IDENTIFY_WAIT_MS);
    timer.unref();
    void lookup.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function assignPacket(kind: 'JOB_ASSIGN' | 'JOB_ASSIGN_UNIQ', job: Job): Buffer {
  return kind === 'JOB_ASSIGN'
    ? response(PacketType.JOB_ASSIGN, job.handle, job.fn.name, job.payload)
    : response(PacketType.JOB_ASSIGN_UNIQ, job.handle, job.fn.name, job.unique, job.payload);
}

export function handleGrab(kind: 'JOB_ASSIGN' | 'JOB_ASSIGN_UNIQ'): Handler {
  return (conn) => {
    const worker = workerOf(conn);
    const assignment = conn.ctx.engine.grab(worker);
    if (assignment === null) {
      conn.reply(NO_JOB);
      return;
    }
    const { job, ready } = assignment;
    const known = identified(conn);
    if (ready === null && known === null) {
      conn.reply(assignPacket(kind, job));
      conn.ctx.engine.assignmentSent(worker, job);
      return;
    }
    const answer = conn.defer();
    void Promise.all([ready ?? true, known]).then(([stored]) => {
      answer(stored ? assignPacket(kind, job) : NO_JOB);
      if (stored) conn.ctx.engine.assignmentSent(worker, job);
    });
  };
}

export const handlePreSleep: Handler = (conn) => {
  if (conn.ctx.engine.preSleep(workerOf(conn))) conn.reply(NOOP);
};
