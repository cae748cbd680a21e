// A TCP proxy for tests that cut a server away (PostgreSQL, for one) without touching the server: it
// listens on port 0 and forwards each connection to the target. cut() destroys every connection it
// carries and refuses new ones (accepted, then destroyed at once: the peer sees a reset, as when the
// server's host goes down and comes back refusing); restore() lets connections through again.

import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface TcpProxy {
  port: number;
  /** Connections forwarded since the start (the refused ones not counted). */
  readonly forwarded: number;
  /** Drops every connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let isCut = false;
  let forwarded = 0;
  const server: Server = createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    forwarded++;
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    client.setNoDelay(true);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  return {
    port: address.port,
    get forwarded() {
      return forwarded;
    },
    cut() {
      isCut = true;
      // resetAndDestroy: the peers see ECONNRESET at once, as when a host vanishes and comes back refusing.
      for (const s of [...open]) s.resetAndDestroy();
      open.clear();
    },
    restore() {
      isCut = false;
    },
    async close() {
      for (const s of [...open]) s.destroy();
      open.clear();
      server.close();
      await once(server, 'close');
    },
  };
}
