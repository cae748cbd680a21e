// The Gearman listeners (plain text, TLS, or both): accept connections up to the limits (in all, per
// peer address, and what the file-descriptor limit allows) and hand each to a Connection.

import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { peerAddress } from '../access.js';
import { peerGroup } from '../peer-group.js';
import { ErrorCode } from '../errors.js';
import { errorPacket } from '../protocol/encoder.js';
import { InputBudget } from './budget.js';
import { Connection } from './connection.js';
import type { ServerContext } from './context.js';
import { connectionsAllowed, readDescriptors, type DescriptorBudget } from './descriptors.js';
import { gearmanTlsOptions } from './tls.js';

export class GearmanServer {
  readonly #ctx: ServerContext;
  /** The main port: TLS when configured, else plain text. */
  readonly #main: Server;
  /** The plain-text port beside a TLS one (plainPort). */
  readonly #plain: Server | null = null;
  readonly #budget: InputBudget;
  /** Sockets accepted and not yet closed (TLS handshakes under way included). */
  #open = 0;
  /** Open sockets per peer address. */
  readonly #perPeer = new Map<string, number>();
  /** maxConnections, lowered to what the descriptor limit allows. */
  readonly maxConnections: number;
  readonly tls: boolean;
  #nextId = 1;

  constructor(ctx: ServerContext, fds: DescriptorBudget | null = readDescriptors()) {
    this.#ctx = ctx;
    const { limits } = ctx.config;
    this.#budget = new InputBudget(limits.maxBufferedBytes);
    this.maxConnections = connectionsAllowed(limits.maxConnections, fds, limits.reservedDescriptors);
    if (fds !== null && this.maxConnections < limits.maxConnections) {
      // Past the descriptor limit accept() fails and the HTTP side and the store starve with nothing logged.
      ctx.log.warn(
        {
          code: ErrorCode.DESCRIPTOR_LIMIT,
          maxConnections: limits.maxConnections,
          allowed: this.maxConnections,
          ulimit: fds.limit,
          open: fds.open,
          reserved: limits.reservedDescriptors,
        },
        `limits.maxConnections ${limits.maxConnections} is more than the file-descriptor limit allows (ulimit -n ${fds.limit}, ${fds.open} open, ${limits.reservedDescriptors} reserved): accepting at most ${this.maxConnections} Gearman connections; raise ulimit -n or lower limits.maxConnections`,
      );
    }
    const tlsOptions = gearmanTlsOptions(ctx.config);
    this.tls = tlsOptions !== null;
    if (tlsOptions === null) {
      this.#main = this.#plainServer();
    } else {
      const server = createTlsServer({ ...tlsOptions, noDelay: true }, (socket) => this.#serve(socket));
      // Counted before the handshake, so a flood of handshakes meets the same limits. A TLS peer over a
      // limit cannot be told in Gearman before its handshake: it is disconnected (and logged).
      server.on('connection', (raw: Socket) => {
        const refusal = this.#admit(raw);
        if (refusal !== null) {
          this.#log(refusal, raw);
          raw.destroy();
        }
      });
      server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        ctx.log.warn(
          { code: ErrorCode.TLS_HANDSHAKE, peer: peerAddress(socket.remoteAddress), reason: err.code ?? err.message },
          `TLS handshake failed: ${err.message}`,
        );
      });
      server.on('error', (err) => ctx.log.error({ err }, 'gearman TLS listener error'));
      this.#main = server;
      if (ctx.config.plainPort !== null) this.#plain = this.#plainServer();
    }
  }

  #plainServer(): Server {
    const server = createServer({ noDelay: true }, (socket) => {
      const refusal = this.#admit(socket);
      if (refusal === null) {
        this.#serve(socket);
        return;
      }
      this.#log(refusal, socket);
      socket.on('error', () => undefined);
      socket.end(errorPacket('SERVER_BUSY', refusal.message));
    });
    server.on('error', (err) => this.#ctx.log.error({ err }, 'gearman listener error'));
    return server;
  }

  /** Unfinished-packet bytes held across all connections now. */
  get bufferedBytes(): number {
    return this.#budget.used;
  }

  /** Listens on the main port, and on plainPort beside a TLS one; returns the main and plain addresses. */
  async listen(host: string, port: number): Promise<AddressInfo & { plainPort: number | null }> {
    const main = await listenOn(this.#main, host, port);
    const plain = this.#plain === null ? null : await listenOn(this.#plain, host, this.#ctx.config.plainPort ?? 0);
    return Object.assign(main, { plainPort: plain?.port ?? null });
  }

  /** Counts a new socket against the limits; the refusal when it is over one. */
  #admit(socket: Socket): { code: string; message: string; limit: number } | null {
    const limits = this.#ctx.config.limits;
    // An IPv6 host picks addresses from a whole /64: counted per exact address, it would be unbounded.
    const peer = peerGroup(socket.remoteAddress);
    const fromPeer = this.#perPeer.get(peer) ?? 0;
    if (this.#open >= this.maxConnections) {
      return { code: ErrorCode.TOO_MANY_CONNECTIONS, message: `Too many connections (limit ${this.maxConnections})`, limit: this.maxConnections };
    }
    if (limits.maxConnectionsPerPeer > 0 && fromPeer >= limits.maxConnectionsPerPeer) {
      return {
        code: ErrorCode.TOO_MANY_FROM_PEER,
        message: `Too many connections from ${peer} (limit ${limits.maxConnectionsPerPeer} per ${peer.endsWith('/64') ? '/64' : 'address'})`,
        limit: limits.maxConnectionsPerPeer,
      };
    }
    this.#open++;
    this.#perPeer.set(peer, fromPeer + 1);
    socket.once('close', () => {
      this.#open--;
      const n = (this.#perPeer.get(peer) ?? 1) - 1;
      if (n <= 0) this.#perPeer.delete(peer);
      else this.#perPeer.set(peer, n);
    });
    return null;
  }

  #log(refusal: { code: string; message: string; limit: number }, socket: Socket): void {
    this.#ctx.log.warn({ code: refusal.code, limit: refusal.limit, peer: peerAddress(socket.remoteAddress) }, `connection refused: ${refusal.message}`);
  }

  #serve(socket: Socket): void {
    this.#ctx.connections.add(new Connection(this.#nextId++, socket, this.#ctx, this.#budget));
  }

  /** Stops accepting; existing connections stay open. */
  stopAccepting(): void {
    // close()'s callback waits for every connection to end, so it is not awaited here.
    for (const server of [this.#main, this.#plain]) if (server?.listening) server.close();
  }

  /** Closes every connection (workers' held jobs go back to their queues). */
  closeAll(): void {
    for (const conn of [...this.#ctx.connections]) conn.end();
  }
}

async function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  server.listen({ host, port, backlog: 1024 });
  await once(server, 'listening');
  return server.address() as AddressInfo;
}
