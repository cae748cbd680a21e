// A TCP proxy for tests that take a server away (PostgreSQL, for one) without touching the server: it
// listens on port 0 and forwards each connection to the target. Two ways to take it away:
// - cut(): every connection is reset and new ones are refused (accepted, then reset at once), as when the
//   server's host goes down and comes back refusing;
// - freeze(): connections stay open but nothing goes through either way, new ones included, as when the
//   network drops packets silently.
// restore() lets traffic through again (what a freeze held back is delivered then). And to lose one answer:
// loseAnswersAfter(markers) drops everything the server sends on the first connection on which the client
// sends the markers, in that order (a statement's name, then COMMIT, say: the server commits that
// transaction, the client never hears of it).

import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { TEST_POSTGRES_URL } from './postgres.js';

export interface TcpProxy {
  port: number;
  cut(): void;
  freeze(): void;
  loseAnswersAfter(markers: Buffer[]): void;
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  /** Data held back by a freeze, with the socket it goes to. */
  held: [Socket, Buffer][];
  /** How many of the markers the client sent so far, in order. */
  seen: number;
  /** The client sent every marker: what the server sends is dropped. */
  deaf: boolean;
}

export async function tcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let state: 'open' | 'cut' | 'frozen' = 'open';
  let markers: Buffer[] = [];
  const server: Server = createServer((client) => {
    if (state === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    client.setNoDelay(true);
    const pair: Pair = { client, upstream, held: [], seen: 0, deaf: false };
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    const forward = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (from === client && markers.length > 0 && chunk.includes(markers[pair.seen]!) && ++pair.seen === markers.length) {
          markers = [];
          pair.deaf = true;
        }
        if (from === upstream && pair.deaf) return;
        if (state === 'frozen') pair.held.push([to, chunk]);
        else to.write(chunk);
      });
      from.on('error', drop).on('close', drop);
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address');
  return {
    port: address.port,
    cut() {
      state = 'cut';
      // A reset, not a FIN: the peers learn at once that the connection is gone.
      for (const { client, upstream } of [...pairs]) {
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    freeze() {
      state = 'frozen';
    },
    loseAnswersAfter(m) {
      markers = [...m];
      for (const pair of pairs) pair.seen = 0;
    },
    restore() {
      state = 'open';
      for (const pair of pairs) for (const [to, chunk] of pair.held.splice(0)) to.write(chunk);
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A proxy in front of the test PostgreSQL, closed when the test ends, and the URL that goes through it. */
export async function postgresProxy(t: TestContext): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(TEST_POSTGRES_URL);
  const proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  t.after(() => proxy.close());
  const url = new URL(TEST_POSTGRES_URL);
  url.port = String(proxy.port);
  return { proxy, url: url.toString() };
}
