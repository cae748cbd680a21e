// The Gearman TCP listener: accepts connections up to the limit and hands each to a Connection.

import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '../errors.js';
import { errorPacket } from '../protocol/encoder.js';
import { Connection } from './connection.js';
import type { ServerContext } from './context.js';

export class GearmanServer {
  readonly #ctx: ServerContext;
  readonly #server: Server;
  #nextId = 1;

  constructor(ctx: ServerContext) {
    this.#ctx = ctx;
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (err) => ctx.log.error({ err }, 'gearman listener error'));
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    this.#server.listen({ host, port, backlog: 1024 });
    await once(this.#server, 'listening');
    return this.#server.address() as AddressInfo;
  }

  #accept(socket: Socket): void {
    const { connections, config, log } = this.#ctx;
    if (connections.size >= config.limits.maxConnections) {
      log.warn({ code: ErrorCode.TOO_MANY_CONNECTIONS, limit: config.limits.maxConnections, peer: socket.remoteAddress }, 'connection refused: too many connections');
      socket.end(errorPacket('SERVER_BUSY', `Too many connections (limit ${config.limits.maxConnections})`));
      socket.on('error', () => undefined);
      return;
    }
    connections.add(new Connection(this.#nextId++, socket, this.#ctx));
  }

  /** Stops accepting; existing connections stay open. */
  stopAccepting(): void {
    // close()'s callback waits for every connection to end, so it is not awaited here.
    if (this.#server.listening) this.#server.close();
  }

  /** Closes every connection (workers' held jobs go back to their queues). */
  closeAll(): void {
    for (const conn of [...this.#ctx.connections]) conn.end();
  }
}
