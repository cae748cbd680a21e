// A webhook receiver on a real port for the alert tests; `answer` picks each request's status (and, for
// a redirect, its Location). It can be started on a given port, to come back where it was down.

import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown> & { event: string };
}

export interface Receiver {
  url: string;
  port: number;
  /** Requests answered 2xx, in arrival order. */
  got: Received[];
  /** Every request, whatever its answer. */
  requests: number;
  events: EventEmitter;
  /** Resolves once pred holds for an accepted request (checking those already in). */
  until(pred: (r: Received, i: number) => boolean): Promise<Received>;
  /** Resolves once n requests were accepted in all. */
  count(n: number): Promise<Received[]>;
}

type Answer = (n: number) => number | { status: number; location: string };

export async function receiver(t: TestContext, answer: Answer = () => 204, port = 0): Promise<Receiver> {
  const events = new EventEmitter();
  const r: Receiver = {
    url: '',
    port: 0,
    got: [],
    requests: 0,
    events,
    async until(pred) {
      for (;;) {
        const i = r.got.findIndex(pred);
        if (i !== -1) return r.got[i]!;
        await once(events, 'request');
      }
    },
    async count(n) {
      while (r.got.length < n) await once(events, 'request');
      return r.got;
    },
  };
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const a = answer(++r.requests);
      const { status, location } = typeof a === 'number' ? { status: a, location: undefined } : a;
      if (status < 300) r.got.push({ headers: req.headers, raw, body: JSON.parse(raw) as Received['body'] });
      res.writeHead(status, location === undefined ? {} : { location }).end();
      events.emit('request');
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  r.port = (server.address() as AddressInfo).port;
  r.url = `http://127.0.0.1:${r.port}/hook`;
  return r;
}

/** A port nothing listens on: connections to it are refused (a receiver that is down). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
