// The Gearman TCP listener: accepts connections up to the limits (in all, per peer address, and what the
// file-descriptor limit allows) and hands each to a Connection.

import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { peerAddress } from '../access.js';
import { ErrorCode } from '../errors.js';
import { errorPacket } from '../protocol/encoder.js';
import { InputBudget } from './budget.js';
import { Connection } from './connection.js';
import type { ServerContext } from './context.js';
import { connectionsAllowed, readDescriptors, type DescriptorBudget } from './descriptors.js';

export class GearmanServer {
  readonly #ctx: ServerContext;
  readonly #server: Server;
  readonly #budget: InputBudget;
  /** Open connections per peer address. */
  readonly #perPeer = new Map<string, number>();
  /** maxConnections, lowered to what the descriptor limit allows. */
  readonly maxConnections: number;
  #nextId = 1;

  constructor(ctx: ServerContext, fds: DescriptorBudget | null = readDescriptors()) {
    this.#ctx = ctx;
    const { limits } = ctx.config;
    this.#budget = new InputBudget(limits.maxBufferedBytes);
    this.maxConnections = connectionsAllowed(limits.maxConnections, fds, limits.reservedDescriptors);
    if (fds !== null && this.maxConnections < limits.maxConnections) {
      // Past the descriptor limit accept() fails and the HTTP side and the store starve with nothing logged.
      ctx.log.warn(
        { code: ErrorCode.DESCRIPTOR_LIMIT, maxConnections: limits.maxConnections, allowed: this.maxConnections, ulimit: fds.limit, open: fds.open, reserved: limits.reservedDescriptors },
        `limits.maxConnections ${limits.maxConnections} is more than the file-descriptor limit allows (ulimit -n ${fds.limit}, ${fds.open} open, ${limits.reservedDescriptors} reserved): accepting at most ${this.maxConnections} Gearman connections; raise ulimit -n or lower limits.maxConnections`,
      );
    }
    this.#server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
    this.#server.on('error', (err) => ctx.log.error({ err }, 'gearman listener error'));
  }

  /** Unfinished-packet bytes held across all connections now. */
  get bufferedBytes(): number {
    return this.#budget.used;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    this.#server.listen({ host, port, backlog: 1024 });
    await once(this.#server, 'listening');
    return this.#server.address() as AddressInfo;
  }

  #accept(socket: Socket): void {
    const { connections, config, log } = this.#ctx;
    const peer = peerAddress(socket.remoteAddress);
    const fromPeer = this.#perPeer.get(peer) ?? 0;
    const perPeerLimit = config.limits.maxConnectionsPerPeer;
    if (connections.size >= this.maxConnections) {
      this.#refuse(socket, ErrorCode.TOO_MANY_CONNECTIONS, `Too many connections (limit ${this.maxConnections})`, { limit: this.maxConnections, peer });
      return;
    }
    if (perPeerLimit > 0 && fromPeer >= perPeerLimit) {
      this.#refuse(socket, ErrorCode.TOO_MANY_FROM_PEER, `Too many connections from ${peer} (limit ${perPeerLimit} per address)`, { limit: perPeerLimit, peer });
      return;
    }
    this.#perPeer.set(peer, fromPeer + 1);
    socket.once('close', () => {
      const n = (this.#perPeer.get(peer) ?? 1) - 1;
      if (n <= 0) this.#perPeer.delete(peer);
      else this.#perPeer.set(peer, n);
    });
    connections.add(new Connection(this.#nextId++, socket, this.#ctx, this.#budget));
    log.trace({ peer }, 'connection accepted');
  }

  #refuse(socket: Socket, code: string, message: string, fields: Record<string, unknown>): void {
    this.#ctx.log.warn({ code, ...fields }, `connection refused: ${message}`);
    socket.on('error', () => undefined);
    socket.end(errorPacket('SERVER_BUSY', message));
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
