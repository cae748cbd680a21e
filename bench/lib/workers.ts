// Realistic Gearman workers for the load generator, one job at a time as libgearman's worker loop does:
// GRAB_JOB -> JOB_ASSIGN -> WORK_COMPLETE (and the next GRAB_JOB in the same write); on NO_JOB either stop
// (draining a preloaded queue) or PRE_SLEEP until the server's NOOP.

import { GRAB_JOB, openPeers, PacketType, PRE_SLEEP, req, type Peer } from './peer.js';

export interface WorkerOptions {
  fn: string;
  /** `stop`: the first NO_JOB ends the worker (drain); `sleep`: PRE_SLEEP and wait for a NOOP. */
  onEmpty: 'stop' | 'sleep';
  /** Complete with the job's payload (echo) instead of an empty result. */
  echo: boolean;
  /** Called for each job received; false = complete it but grab no more. */
  onJob: () => boolean;
  /** Called when a worker stops: it met an empty queue (onEmpty `stop`), or onJob said false. */
  onStopped?: (why: 'empty' | 'told') => void;
  onClose: (why: string) => void;
}

const EMPTY = Buffer.alloc(0);

/** Connects n workers and registers them (CAN_DO is handled once each answers an ECHO); call go() to start. */
export async function connectWorkers(port: number, n: number, o: WorkerOptions): Promise<{ peers: Peer[]; go: () => void }> {
  const peers = await openPeers(port, n);
  for (const peer of peers) peer.send(req(PacketType.CAN_DO, o.fn));
  await Promise.all(peers.map((p) => p.echo()));
  for (const peer of peers) {
    let state: 'grabbing' | 'sleeping' | 'stopped' = 'grabbing';
    peer.onClose = o.onClose;
    peer.onPacket = (p) => {
      switch (p.type) {
        case PacketType.JOB_ASSIGN: {
          const more = o.onJob();
          peer.send(req(PacketType.WORK_COMPLETE, p.args[0]!, o.echo ? p.args[2]! : EMPTY));
          if (more) peer.send(GRAB_JOB);
          else {
            state = 'stopped';
            o.onStopped?.('told');
          }
          return;
        }
        case PacketType.NO_JOB:
          if (state !== 'grabbing') return;
          if (o.onEmpty === 'stop') {
            state = 'stopped';
            o.onStopped?.('empty');
          } else {
            state = 'sleeping';
            peer.send(PRE_SLEEP);
          }
          return;
        case PacketType.NOOP:
          if (state !== 'sleeping') return;
          state = 'grabbing';
          peer.send(GRAB_JOB);
          return;
        default:
      }
    };
  }
  return {
    peers,
    go: () => {
      for (const peer of peers) peer.send(GRAB_JOB);
    },
  };
}
