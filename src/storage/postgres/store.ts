// The PostgreSQL storage adapter: several Lazaret nodes share one database (capabilities.shared). It
// talks to PostgreSQL through a node-postgres pool, so every method is a network round trip off the
// event loop; a group commit is one transaction on one pooled connection (write.ts).
//
// The store keeps everything in a schema of its own (option `schema`, default `lazaret`), created and
// migrated at open() under an advisory lock (migrate.ts). Rows a node takes into memory are marked held
// by it: `node` names it (default: the host name; give each node on one host its own), and each open()
// takes a new epoch from the database, stored with the rows it holds.
//
// Each node holds a lease in the store (nodes.ts), renewed every third of `leaseMs`; a peer rescues the
// jobs of a node whose lease expired (nodesRescue). Every transaction that changes what this node holds
// first checks that its lease row, with its epoch, is still there: once a peer has rescued it, this
// adapter is fenced for good (every call rejects with LAZ_STORE_FENCED) and `onFenced` is called once.

import { hostname } from 'node:os';
import { ErrorCode, LazaretError } from '../../errors.js';
import { jobsFind, jobsImpact } from './jobs-find.js';
import type { StorageAdapter, StorageCapabilities } from '../adapter.js';
import type {
  AlertRow,
  AlertUpdate,
  AuditStamp,
  DueMoved,
  Expired,
  HistoryEntry,
  ImpactQuery,
  ImpactRow,
  JobCounts,
  FoundJob,
  JobFilter,
  JobImpactQuery,
  JobImpactRow,
  JobRow,
  JobSummary,
  NewAlert,
  NodeInfo,
  NodeRow,
  OutcomeFilter,
  OutcomeRow,
  Priority,
  QuarantineFilter,
  QuarantinePage,
  QuarantineRow,
  QuarantineSummary,
  QueuedIn,
  Rescue,
  StoredJob,
  WriteBatch,
  WriteResult,
} from '../types.js';
import { emptyBatch } from '../types.js';
import { checkSchemaName, Db, describeUrl, type Runner } from './connection.js';
import { migrate, migrationsDir, readMigrations, schemaVersion } from './migrate.js';
import { takeNodeLock } from './node-lock.js';
import { channelOf, Listener } from './notify.js';
import { fencedError, nodeOperations, type NodeOperations } from './nodes.js';
import { queueOperations, type QueueOperations } from './queue.js';
import { quarantineOperations, type QuarantineOperations } from './quarantine.js';
import { recordOperations, type RecordOperations } from './records.js';
import { applyBatch, FENCE_FAILED, oneStatement, storedTwins, type Holder, type OneStatementRow } from './write.js';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; the password never shows in messages or describe(). */
  url: string;
  /** The schema holding the store's tables; created when missing. Default `lazaret`. */
  schema?: string;
  /**
   * This node's name on the jobs it holds; stable across its restarts, and unique among the live nodes
   * of the store (a second adapter opening under a name in use fails with LAZ_STORE_LOCKED). Default:
   * the host name.
   */
  node?: string;
  /** Pooled connections at most. Default 10. */
  poolSize?: number;
  /** How long a new connection may take before LAZ_STORE_UNREACHABLE. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Ids one idsNext() reservation takes; each answer has at least half of them after it for this node alone. Default 1,000,000. */
  idBlock?: number;
  /** A statement running or waiting for a lock longer than this fails with LAZ_STORE_BUSY. Default 30,000 ms. */
  statementTimeoutMs?: number;
  /**
   * How long this node's lease lasts without a renewal, ms; renewed every third of it. Peers rescue
   * the jobs of a node whose lease expired. Default 30,000.
   */
  leaseMs?: number;
  /** Called once when this node finds it was fenced (a peer rescued its jobs): it must stop. */
  onFenced?: (err: LazaretError) => void;
  /**
   * The largest payload the SQL function submit() takes (migration 0005), written to the store at each
   * open(): the node's limits.maxPayloadBytes. Without it nothing is written, and the limit stays as the
   * last node set it (16 MiB, the function's default, before any has).
   */
  maxPayloadBytes?: number;
}

/** The payload limit submit() applies (migration 0005): the last node to open sets it. */
const SET_MAX_PAYLOAD = `INSERT INTO meta (key, value) VALUES ('max_payload_bytes', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;

/** What a node publishes before it says anything. */
const NO_INFO: NodeInfo = { gearman: [], http: null, version: '', workers: {}, workersTotal: 0, jobsHeld: 0 };

type State = 'new' | 'opening' | 'open' | 'closed';

interface Open {
  db: Db;
  unlock: () => Promise<void>;
  listener: Listener;
  queue: QueueOperations;
  quarantine: QuarantineOperations;
  records: RecordOperations;
  nodes: NodeOperations;
  renewal: NodeJS.Timeout;
}

export class PostgresStore implements StorageAdapter {
  readonly name = 'postgres';
  readonly capabilities: StorageCapabilities;
  readonly #url: string;
  readonly #schema: string;
  readonly #node: string;
  readonly #poolSize: number;
  readonly #connectTimeoutMs: number;
  readonly #idBlock: number;
  readonly #statementTimeoutMs: number;
  readonly #leaseMs: number;
  readonly #maxPayloadBytes: number | null;
  readonly #onFenced: (err: LazaretError) => void;
  #info: () => NodeInfo = () => NO_INFO;
  /** Set once a peer rescued this node's jobs; never cleared. */
  #fenced: LazaretError | null = null;
  #renewing = false;
  #state: State = 'new';
  #open: Open | null = null;
  #holder: Holder;
  readonly #channel: string;
  readonly #queuedListeners: ((queues: QueuedIn[]) => void)[] = [];

  constructor(options: PostgresStoreOptions) {
    this.#url = options.url;
    this.#schema = options.schema ?? 'lazaret';
    this.#node = options.node ?? hostname();
    this.#poolSize = Math.max(1, Math.floor(options.poolSize ?? 10));
    this.#connectTimeoutMs = Math.max(1, Math.floor(options.connectTimeoutMs ?? 5000));
    this.#idBlock = Math.max(2, Math.floor(options.idBlock ?? 1_000_000));
    // Every idsNext() answer has half a reserved block after it (queue.ts).
    this.capabilities = { shared: true, idBlock: Math.floor(this.#idBlock / 2) };
    this.#statementTimeoutMs = Math.max(1, Math.floor(options.statementTimeoutMs ?? 30_000));
    this.#holder = { owner: this.#node, epoch: 0 };
    this.#channel = channelOf(this.#schema);
    this.#leaseMs = Math.max(1, Math.floor(options.leaseMs ?? 30_000));
    this.#onFenced = options.onFenced ?? (() => {});
    this.#maxPayloadBytes = options.maxPayloadBytes === undefined ? null : Math.max(0, Math.floor(options.maxPayloadBytes));
  }

  /** The server, database and schema; never the password. */
  describe(): string {
    return `${describeUrl(this.#url)} (schema ${this.#schema})`;
  }

  get schema(): string {
    return this.#schema;
  }

  /** Who holds the jobs this adapter takes: the node and the epoch of this open(). */
  get holder(): Holder {
    return { ...this.#holder };
  }

  /**
   * `listener` is called when any node (or the SQL function submit()) commits jobs left queued, with
   * their queues (empty: any queue), and after the listening connection was made again.
   */
  onQueued(listener: (queues: QueuedIn[]) => void): void {
    this.#queuedListeners.push(listener);
  }

  /** Connects, creates or migrates the schema, and takes an epoch. Calling it again while open does nothing. */
  async open(): Promise<void> {
    if (this.#state === 'open') return;
    if (this.#state === 'closed') throw this.#unusable('open');
    if (this.#state === 'opening') throw new LazaretError(ErrorCode.STORE_FAILED, `open() on the PostgreSQL store ${this.describe()} while it is opening.`);
    checkSchemaName(this.#schema);
    this.#state = 'opening';
    const applicationName = `lazaret ${this.#node}`.slice(0, 63);
    const db = new Db(
      {
        url: this.#url,
        schema: this.#schema,
        poolSize: this.#poolSize,
        connectTimeoutMs: this.#connectTimeoutMs,
        applicationName,
        statementTimeoutMs: this.#statementTimeoutMs,
        idleInTransactionMs: this.#leaseMs,
      },
      this.describe(),
    );
    let unlock = async (): Promise<void> => {};
    const listener = new Listener({
      url: this.#url,
      channel: this.#channel,
      connectTimeoutMs: this.#connectTimeoutMs,
      applicationName,
      onQueued: (queues) => {
        for (const l of this.#queuedListeners) l(queues);
      },
    });
    const nodes = nodeOperations(db);
    try {
      await migrate(db, this.#schema, readMigrations(migrationsDir()));
      if (this.#maxPayloadBytes !== null) await db.run('open', SET_MAX_PAYLOAD, [this.#maxPayloadBytes]);
      unlock = await takeNodeLock({
        url: this.#url,
        schema: this.#schema,
        node: this.#node,
        connectTimeoutMs: this.#connectTimeoutMs,
        applicationName,
        where: this.describe(),
      });
      const [row] = await db.query<{ epoch: number }>('open', "SELECT nextval('node_epoch') AS epoch");
      this.#holder = { owner: this.#node, epoch: row?.epoch ?? 0 };
      // Listening before the first read of the counts: nothing committed after it goes unheard. A
      // failure is retried in the background (the poll covers meanwhile).
      await listener.start();
      await nodes.upsert(this.#holder, this.#leaseMs, this.#info());
    } catch (err) {
      await listener.close();
      await unlock();
      await db.end().catch(() => {});
      // A store that failed to open can be opened again; unless close() came meanwhile.
      if (this.#state === 'opening') this.#state = 'new';
      throw err;
    }
    if (this.#state !== 'opening') {
      await listener.close();
      await unlock();
      await db.end().catch(() => {});
      throw this.#unusable('open');
    }
    const renewal = setInterval(() => this.#renew(), Math.max(1, Math.floor(this.#leaseMs / 3)));
    renewal.unref();
    this.#open = {
      db,
      unlock,
      listener,
      queue: queueOperations(
        db,
        () => this.#holder,
        this.#idBlock,
        this.#channel,
        (tx) => this.#fence(nodes, tx),
      ),
      quarantine: quarantineOperations(db, this.#channel),
      records: recordOperations(db),
      nodes,
      renewal,
    };
    this.#state = 'open';
  }

  /** Waits for what is running, closes every connection; later calls reject with LAZ_STORE_CLOSED. Closing twice is harmless. */
  async close(): Promise<void> {
    this.#state = 'closed';
    const open = this.#open;
    this.#open = null;
    if (open === null) return;
    clearInterval(open.renewal);
    try {
      await open.listener.close();
      // A node that stops cleanly leaves no lease behind for its peers to rescue.
      if (this.#fenced === null) await open.nodes.remove(this.#holder).catch(() => {});
      await open.db.end();
    } finally {
      // Last: the name is free only once this node can no longer write.
      await open.unlock();
    }
  }

  async schemaVersion(): Promise<number> {
    return schemaVersion(this.#use('schemaVersion').db);
  }

  async ping(now: number): Promise<void> {
    await this.#use('ping').db.run(
      'ping',
      { name: 'lz_ping', text: "INSERT INTO meta (key, value) VALUES ('health_ping', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value" },
      [now],
    );
  }

  /**
   * One group commit in one transaction, telling which new jobs coalesced with stored ones: the usual
   * batch as one statement (write.ts, oneStatement()), any other in BEGIN … COMMIT.
   */
  async write(batch: WriteBatch): Promise<WriteResult> {
    const open = this.#use('write');
    const one = oneStatement(batch, this.#holder, this.#channel);
    if (one !== null) {
      const [row] = await this.#fencedStatement(open.db.query<OneStatementRow>('write', one.statement, one.params));
      const missing = new Set((row?.missing ?? []).map(Number));
      return missing.size === 0 ? { coalesced: [] } : this.#metStored(batch.insertJobs.filter((j) => missing.has(j.id)));
    }
    return open.db.transaction('write', async (tx) => {
      await this.#fence(open.nodes, tx);
      return applyBatch(tx, batch, this.#holder, this.#channel);
    });
  }

  /**
   * New jobs a one-statement write did not insert, with the stored jobs they met (looked up now: one
   * committed after that statement began is seen only now); those whose twin has gone since are written again.
   */
  async #metStored(rows: readonly JobRow[]): Promise<WriteResult> {
    const met = await this.#use('write').db.transaction('write', (tx) => storedTwins(tx, rows));
    const found = new Set(met.map((c) => c.id));
    const gone = rows.filter((j) => !found.has(j.id));
    if (gone.length === 0) return { coalesced: met };
    const again = await this.write({ ...emptyBatch(), insertJobs: gone });
    return { coalesced: [...met, ...again.coalesced] };
  }

  /**
   * What this node publishes about itself at each renewal of its lease (read then, so it is current);
   * the first publication is sent at once.
   */
  nodesPublish(info: () => NodeInfo): void {
    this.#info = info;
    this.#renew();
  }

  async nodesList(): Promise<NodeRow[]> {
    return this.#use('nodesList').nodes.list();
  }

  /** In one transaction: the nodes whose lease expired are deleted, their jobs requeued or taken over by this node. */
  async nodesRescue(now: number): Promise<Rescue> {
    const open = this.#use('nodesRescue');
    return open.db.transaction('nodesRescue', async (tx) => {
      await this.#fence(open.nodes, tx);
      return open.nodes.rescue(tx, this.#holder, now, this.#channel);
    });
  }

  get leaseMs(): number {
    return this.#leaseMs;
  }

  async idsNext(): Promise<number> {
    return this.#use('idsNext').queue.idsNext();
  }

  async recover(now: number): Promise<StoredJob[]> {
    return this.#use('recover').queue.recover(now);
  }

  async countsLoad(): Promise<JobCounts> {
    return this.#use('countsLoad').queue.countsLoad();
  }

  async windowFill(fn: string, priority: Priority, limit: number): Promise<StoredJob[]> {
    return this.#fencedStatement(this.#use('windowFill').queue.windowFill(fn, priority, limit));
  }

  async dueMove(now: number, limit: number): Promise<DueMoved> {
    return this.#use('dueMove').queue.dueMove(now, limit);
  }

  async deadlineTake(now: number, limit: number): Promise<Expired> {
    return this.#use('deadlineTake').queue.deadlineTake(now, limit);
  }

  async jobGet(id: number): Promise<StoredJob | null> {
    return this.#use('jobGet').queue.jobGet(id);
  }

  async jobHold(id: number): Promise<StoredJob | null> {
    return this.#use('jobHold').queue.jobHold(id);
  }

  async jobHoldByKey(fn: string, key: string): Promise<StoredJob | null> {
    return this.#use('jobHoldByKey').queue.jobHoldByKey(fn, key);
  }

  async jobsPage(afterId: number, limit: number): Promise<JobSummary[]> {
    return this.#use('jobsPage').queue.jobsPage(afterId, limit);
  }

  async jobsFind(filter: JobFilter): Promise<FoundJob[]> {
    return jobsFind(this.#use('jobsFind').db, filter);
  }

  async jobsImpact(query: JobImpactQuery): Promise<JobImpactRow[]> {
    return jobsImpact(this.#use('jobsImpact').db, query);
  }

  async quarantineList(filter: QuarantineFilter, page: QuarantinePage): Promise<QuarantineSummary[]> {
    return this.#use('quarantineList').quarantine.quarantineList(filter, page);
  }

  async quarantineCount(filter: QuarantineFilter): Promise<number> {
    return this.#use('quarantineCount').quarantine.quarantineCount(filter);
  }

  async quarantineCountByFunction(): Promise<Record<string, number>> {
    return this.#use('quarantineCountByFunction').quarantine.quarantineCountByFunction();
  }

  async quarantineGet(id: number): Promise<QuarantineRow | null> {
    return this.#use('quarantineGet').quarantine.quarantineGet(id);
  }

  async quarantineUpdatePayload(id: number, payload: Buffer, by?: AuditStamp): Promise<boolean> {
    return this.#use('quarantineUpdatePayload').quarantine.quarantineUpdatePayload(id, payload, by);
  }

  async quarantineRequeue(filter: QuarantineFilter, now: number, by?: AuditStamp): Promise<JobRow[]> {
    return this.#use('quarantineRequeue').quarantine.quarantineRequeue(filter, now, by);
  }

  async quarantinePurge(filter: QuarantineFilter, by?: AuditStamp): Promise<number> {
    return this.#use('quarantinePurge').quarantine.quarantinePurge(filter, by);
  }

  async outcomesFind(filter: OutcomeFilter): Promise<OutcomeRow[]> {
    return this.#use('outcomesFind').records.outcomesFind(filter);
  }

  async outcomesPrune(before: number, limit: number): Promise<number> {
    return this.#use('outcomesPrune').records.outcomesPrune(before, limit);
  }

  async outcomesImpact(query: ImpactQuery): Promise<ImpactRow[]> {
    return this.#use('outcomesImpact').records.outcomesImpact(query);
  }

  async alertsAdd(alerts: readonly NewAlert[]): Promise<AlertRow[]> {
    return this.#use('alertsAdd').records.alertsAdd(alerts);
  }

  async alertsList(): Promise<AlertRow[]> {
    return this.#use('alertsList').records.alertsList();
  }

  async alertsUpdate(update: AlertUpdate): Promise<boolean> {
    return this.#use('alertsUpdate').records.alertsUpdate(update);
  }

  async alertsDelete(ids: readonly number[]): Promise<number> {
    return this.#use('alertsDelete').records.alertsDelete(ids);
  }

  async historyFind(jobId: number): Promise<HistoryEntry[]> {
    return this.#use('historyFind').records.historyFind(jobId);
  }

  async historyPrune(before: number, limit: number): Promise<number> {
    return this.#use('historyPrune').records.historyPrune(before, limit);
  }

  async historyLiveJobs(): Promise<number[]> {
    return this.#use('historyLiveJobs').records.historyLiveJobs();
  }

  /**
   * A statement fenced in itself (write.ts, FENCE_FAILED: the usual group commit, a window refill) that
   * failed its fence: this node has been rescued.
   */
  async #fencedStatement<T>(statement: Promise<T>): Promise<T> {
    try {
      return await statement;
    } catch (err) {
      if (err instanceof LazaretError && (err.cause as { code?: unknown } | undefined)?.code === FENCE_FAILED) {
        const fenced = fencedError(this.#holder, this.describe());
        this.#becomeFenced(fenced);
        throw fenced;
      }
      throw err;
    }
  }

  /** First in each transaction that changes what this node holds: its lease row must still be there. */
  async #fence(nodes: NodeOperations, tx: Runner): Promise<void> {
    try {
      await nodes.fence(tx, this.#holder);
    } catch (err) {
      if (err instanceof LazaretError && err.code === ErrorCode.STORE_FENCED) this.#becomeFenced(err);
      throw err;
    }
  }

  #renew(): void {
    const open = this.#open;
    if (open === null || this.#renewing || this.#fenced !== null) return;
    this.#renewing = true;
    // Through a promise, so that an info provider that throws fails this renewal only.
    Promise.resolve()
      .then(() => open.nodes.renew(this.#holder, this.#leaseMs, this.#info()))
      .then(
        (held) => {
          if (!held && this.#open === open) this.#becomeFenced(fencedError(this.#holder, this.describe()));
        },
        // The store is unreachable (or the info could not be read): the next renewal tries again; if none succeeds before the lease
        // expires, a peer rescues the jobs and the next renewal finds this node fenced.
        () => {},
      )
      .finally(() => {
        this.#renewing = false;
      });
  }

  #becomeFenced(err: LazaretError): void {
    if (this.#fenced !== null) return;
    this.#fenced = err;
    this.#onFenced(err);
  }

  // Called at the top of async methods, so a refusal reaches the caller as a rejection.
  #use(op: string): Open {
    if (this.#fenced !== null && this.#state === 'open') throw this.#fenced;
    if (this.#state !== 'open' || this.#open === null) throw this.#unusable(op);
    return this.#open;
  }

  #unusable(op: string): LazaretError {
    return this.#state === 'closed'
      ? new LazaretError(
          ErrorCode.STORE_CLOSED,
          `${op} on the PostgreSQL store ${this.describe()} after close(); a closed store stays closed, create a new one.`,
        )
      : new LazaretError(ErrorCode.STORE_CLOSED, `${op} on the PostgreSQL store ${this.describe()} before open(); call open() first.`);
  }
}
