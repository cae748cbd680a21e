// GRAB_JOB, GRAB_JOB_UNIQ, GRAB_JOB_ALL and PRE_SLEEP (§5.2, §5.3). A durable job is sent only once
// its attempt is stored.

import type { Job } from '../../core/job.js';
import type { Worker } from '../../core/worker.js';
import { NO_JOB, NOOP, response } from '../../protocol/encoder.js';
import { PacketType } from '../../protocol/packets.js';
import type { Connection } from '../connection.js';
import type { Handler } from './index.js';
import { findPeerProcess } from '../peer-process.js';

export function workerOf(conn: Connection): Worker {
  if (conn.worker) return conn.worker;
  const worker = conn.ctx.engine.addWorker(conn);
  conn.worker = worker;
  // A worker on this host is named by its pid, and its supervisor can be told when it is stuck.
  if (conn.sameHost) {
    void findPeerProcess(conn.peerPort, conn.localPort).then((found) => {
      if (found === null || conn.closed) return;
      conn.pid = found.pid;
      conn.pgid = found.pgid;
      conn.log.debug({ pid: found.pid, pgid: found.pgid }, 'worker process found');
      conn.ctx.engine.identified(worker);
    });
  }
  return worker;
}

function assignPacket(kind: 'JOB_ASSIGN' | 'JOB_ASSIGN_UNIQ', job: Job): Buffer {
  return kind === 'JOB_ASSIGN'
    ? response(PacketType.JOB_ASSIGN, job.handle, job.fn.name, job.payload)
    : response(PacketType.JOB_ASSIGN_UNIQ, job.handle, job.fn.name, job.unique, job.payload);
}

export function handleGrab(kind: 'JOB_ASSIGN' | 'JOB_ASSIGN_UNIQ'): Handler {
  return (conn) => {
    const assignment = conn.ctx.engine.grab(workerOf(conn));
    if (assignment === null) {
      conn.reply(NO_JOB);
      return;
    }
    const { job, ready } = assignment;
    if (ready === null) {
      conn.reply(assignPacket(kind, job));
      return;
    }
    const answer = conn.defer();
    ready.then((stored) => answer(stored ? assignPacket(kind, job) : NO_JOB));
  };
}

export const handlePreSleep: Handler = (conn) => {
  if (conn.ctx.engine.preSleep(workerOf(conn))) conn.reply(NOOP);
};
