// Every adapter operation, with its statements prepared once when the store opens. The thread
// (thread.ts) dispatches requests to these by name, so an operation added to the StorageAdapter
// interface needs one line here and one forwarding method in store.ts.

import type Database from 'better-sqlite3';
import type {
  AuditStamp,
  ImpactQuery,
  ImpactRow,
  JobRow,
  OutcomeFilter,
  OutcomeRow,
  QuarantineFilter,
  QuarantinePage,
  QuarantineRow,
  QuarantineSummary,
  WriteBatch,
  WriteResult,
} from '../types.js';
import { prepareAlerts, type AlertOperations } from './alerts.js';
import { prepareHistory, type HistoryOperations } from './history.js';
import { prepareIdsNext } from './ids-next.js';
import { prepareSchemaVersion } from './migrate.js';
import { prepareOutcomesFind } from './outcomes-find.js';
import { prepareOutcomesImpact } from './outcomes-impact.js';
import { prepareOutcomesPrune } from './outcomes-prune.js';
import { preparePing } from './ping.js';
import { prepareQuarantineCount } from './quarantine-count.js';
import { prepareQuarantineCountByFunction } from './quarantine-count-by-function.js';
import { StatementCache } from './quarantine-filter.js';
import { prepareQuarantineGet } from './quarantine-get.js';
import { prepareQuarantineList } from './quarantine-list.js';
import { prepareQuarantinePurge } from './quarantine-purge.js';
import { prepareQuarantineRequeue } from './quarantine-requeue.js';
import { prepareQuarantineUpdatePayload } from './quarantine-update-payload.js';
import { prepareQueue, type QueueOperations } from './queue.js';
import { prepareSeq } from './seq.js';
import { prepareWrite } from './write.js';

export interface Operations extends AlertOperations, HistoryOperations, QueueOperations {
  schemaVersion: () => number;
  ping: (now: number) => void;
  write: (batch: WriteBatch) => WriteResult;
  idsNext: () => number;
  quarantineList: (filter: QuarantineFilter, page: QuarantinePage) => QuarantineSummary[];
  quarantineCount: (filter: QuarantineFilter) => number;
  quarantineCountByFunction: () => Record<string, number>;
  quarantineGet: (id: number) => QuarantineRow | null;
  quarantineUpdatePayload: (id: number, payload: Buffer, by?: AuditStamp) => boolean;
  quarantineRequeue: (filter: QuarantineFilter, now: number, by?: AuditStamp) => JobRow[];
  quarantinePurge: (filter: QuarantineFilter, by?: AuditStamp) => number;
  outcomesFind: (filter: OutcomeFilter) => OutcomeRow[];
  outcomesPrune: (before: number, limit: number) => number;
  outcomesImpact: (query: ImpactQuery) => ImpactRow[];
}

export type OperationName = keyof Operations;

export function prepareOperations(db: Database.Database): Operations {
  const cache = new StatementCache(db);
  // One counter for every place in line, whichever operation gives it.
  const seq = prepareSeq(db);
  return {
    schemaVersion: prepareSchemaVersion(db),
    ping: preparePing(db),
    write: prepareWrite(db, seq),
    idsNext: prepareIdsNext(db),
    quarantineList: prepareQuarantineList(cache),
    quarantineCount: prepareQuarantineCount(cache),
    quarantineCountByFunction: prepareQuarantineCountByFunction(db),
    quarantineGet: prepareQuarantineGet(db),
    quarantineUpdatePayload: prepareQuarantineUpdatePayload(db, cache),
    quarantineRequeue: prepareQuarantineRequeue(db, cache, seq),
    quarantinePurge: prepareQuarantinePurge(db, cache),
    outcomesFind: prepareOutcomesFind(cache),
    outcomesPrune: prepareOutcomesPrune(db),
    outcomesImpact: prepareOutcomesImpact(db),
    ...prepareAlerts(db),
    ...prepareHistory(db),
    ...prepareQueue(db, seq),
  };
}
