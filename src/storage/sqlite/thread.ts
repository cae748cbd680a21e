// The store's thread: the only place the SQLite connection lives. Requests arrive in the order the
// event loop sent them and are answered in that order, one at a time; between them, once the WAL has
// grown enough, a checkpoint runs here instead of inside a commit. store.ts is the other end.

import { parentPort, workerData } from 'node:worker_threads';
import { toStoreError } from './errors.js';
import type { OperationName } from './operations.js';
import { SqliteOwner, type OwnerOptions } from './owner.js';
import { errorToWire, pack, unpack, type Reply, type Request } from './wire.js';

const port = parentPort;
if (port === null) throw new Error('thread.ts runs as a worker thread of the SQLite store (store.ts), not on its own.');

const owner = new SqliteOwner(workerData as OwnerOptions);
let checkpointQueued = false;

function answer(reply: Reply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(reply, transfer);
}

port.on('message', (req: Request) => {
  try {
    if (req.op === 'open') {
      owner.open();
      answer({ id: req.id, ok: true, value: null });
      return;
    }
    if (req.op === 'close') {
      owner.close();
      answer({ id: req.id, ok: true, value: null });
      // Nothing else will come: the thread ends once the reply is out.
      port!.close();
      return;
    }
    const value = owner.run(req.op as OperationName, unpack(req.args) as unknown[]);
    // The rows were made for this reply alone: patched in place rather than copied.
    const packed = pack(value, true);
    answer({ id: req.id, ok: true, value: packed.value }, packed.transfer);
  } catch (err) {
    answer({ id: req.id, ok: false, error: errorToWire(toStoreError(err, req.op, owner.describe())) });
  }
  if (req.op === 'write' && !checkpointQueued && owner.checkpointDue()) {
    checkpointQueued = true;
    // After the requests already waiting (the next commit among them), not before them.
    setImmediate(() => {
      checkpointQueued = false;
      owner.checkpoint();
    });
  }
});
