// What every connection and handler shares.

import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Engine } from '../core/engine.js';
import type { Connection } from './connection.js';

export interface ServerContext {
  readonly engine: Engine;
  readonly config: Readonly<Config>;
  readonly log: Logger;
  /** Open connections, in accept order. */
  readonly connections: Set<Connection>;
  /** Reported by the admin `version` command; 1.1.x >= 1.1.19 so clients pick millisecond timeouts. */
  readonly version: string;
  /** Admin `shutdown [graceful]`. */
  shutdown(graceful: boolean): void;
}
