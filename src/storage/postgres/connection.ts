// The connection pool and the two ways the adapter talks to PostgreSQL: one statement on any pooled
// connection, or a transaction on one connection. Every statement is parameterised; the fixed ones are
// named, so each connection parses and plans them once. Every error leaves here as a LazaretError.

import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { ErrorCode, LazaretError } from '../../errors.js';
import { toStoreError } from './errors.js';

/** A schema name we create and quote ourselves: lower-case letters, digits and `_`, as PostgreSQL folds them. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `The PostgreSQL store schema "${schema}" is not a plain name.`, {
      hint: 'Use lower-case letters, digits and underscores, starting with a letter or underscore, at most 63 characters.',
    });
  }
}

/** The URL without its password (and without query parameters, which may carry one). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username === '' ? '' : `${decodeURIComponent(u.username)}@`;
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    // Not a URL at all: say so without repeating it (it may be a key=value string with a password).
    return 'postgres:(unparsable connection string)';
  }
}

// BIGINT (int8) comes back as a number: ids and times in milliseconds stay far below 2^53.
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PoolOptions {
  url: string;
  schema: string;
  /** Connections at most. */
  poolSize: number;
  connectTimeoutMs: number;
  /** Names this node's connections in pg_stat_activity. */
  applicationName: string;
  /**
   * The server cancels a statement that runs (or waits for a lock) longer than this; the client gives
   * up on an answer that has not come 5 s after that (a server or network that went silent).
   */
  statementTimeoutMs: number;
  /**
   * The server ends a session left idle inside a transaction longer than this: a node frozen in the
   * middle of a commit would otherwise keep its lease row locked, and its peers could never rescue it.
   * Default: statementTimeoutMs.
   */
  idleInTransactionMs?: number;
}

export type Params = readonly unknown[];

/** A statement: `name` makes it prepared (the same name must always carry the same text). */
export interface Statement {
  name?: string;
  text: string;
}

export interface Runner {
  query<R extends QueryResultRow>(statement: Statement | string, params?: Params): Promise<R[]>;
  /** How many rows the statement changed. */
  run(statement: Statement | string, params?: Params): Promise<number>;
}

function runnerOf(client: { query: PoolClient['query'] }): Runner {
  const exec = async (statement: Statement | string, params: Params = []) => {
    const s = typeof statement === 'string' ? { text: statement } : statement;
    return client.query({ ...s, values: params as unknown[] });
  };
  return {
    async query<R extends QueryResultRow>(statement: Statement | string, params?: Params) {
      return (await exec(statement, params)).rows as R[];
    },
    async run(statement, params) {
      return (await exec(statement, params)).rowCount ?? 0;
    },
  };
}

export class Db {
  readonly #pool: pg.Pool;
  readonly #where: string;

  constructor(options: PoolOptions, where: string) {
    this.#where = where;
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName,
      // Every connection works in the store's schema (and pg_catalog): the SQL names no schema.
      options: `-c search_path=${options.schema} -c statement_timeout=${options.statementTimeoutMs} -c idle_in_transaction_session_timeout=${options.idleInTransactionMs ?? options.statementTimeoutMs}`,
      query_timeout: options.statementTimeoutMs + 5000,
      // A peer that vanished without a word (a cut network) is noticed by TCP keepalives.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      types,
    });
    // An idle connection that breaks (the server restarted) is reported here; without a listener the
    // process would die. The pool drops it and the next operation connects again.
    this.#pool.on('error', () => {});
  }

  get where(): string {
    return this.#where;
  }

  /** One statement on any connection. */
  async query<R extends QueryResultRow>(op: string, statement: Statement | string, params?: Params): Promise<R[]> {
    try {
      return await runnerOf(this.#pool).query<R>(statement, params);
    } catch (err) {
      throw toStoreError(err, op, this.#where);
    }
  }

  async run(op: string, statement: Statement | string, params?: Params): Promise<number> {
    try {
      return await runnerOf(this.#pool).run(statement, params);
    } catch (err) {
      throw toStoreError(err, op, this.#where);
    }
  }

  /** `work` inside BEGIN … COMMIT on one connection; rolled back when it throws. */
  async transaction<T>(op: string, work: (tx: Runner) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw toStoreError(err, op, this.#where);
    }
    let broken: unknown = null;
    // A checked-out connection that breaks also emits 'error', which would end the process unheard;
    // the failed query reports it.
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(runnerOf(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection itself is gone: the pool must not hand it out again.
        broken = rollbackError;
      }
      throw toStoreError(err, op, this.#where);
    } finally {
      client.off('error', onError);
      client.release(broken === null ? undefined : (broken as Error));
    }
  }

  async end(): Promise<void> {
    await this.#pool.end();
  }
}
