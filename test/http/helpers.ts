// Shared by the HTTP tests: servers with their HTTP side on port 0, JSON requests, an SSE reader, and
// /health readers.

import { request, type IncomingHttpHeaders } from 'node:http';
import type { TestContext } from 'node:test';
import { defaultConfig } from '../../src/config.js';
import type { Clock } from '../../src/core/clock.js';
import type { HealthRule } from '../../src/observe/health.js';
import { startHttp, type HttpServer } from '../../src/http/server.js';
import type { ConfigPatch, TestServer } from '../helpers/server.js';
import { serverFor } from '../helpers/server.js';

export { grab, submitBg } from '../quarantine/helpers.js';

export async function httpServer(t: TestContext, patch: ConfigPatch = {}, clock?: Clock): Promise<TestServer & { url: string }> {
  const server = await serverFor(t, { httpPort: 0, ...patch }, clock ? { clock } : {});
  return Object.assign(server, { url: `http://127.0.0.1:${server.httpPort}` });
}

/**
 * A second HTTP side over a test server's engine, closed when the test ends: for tests that need the
 * fastify app itself (its route table), which a running server does not expose.
 */
export async function httpSideFor(t: TestContext, server: TestServer): Promise<HttpServer> {
  const http = await startHttp({
    engine: server.engine,
    health: server.health,
    config: { ...server.config, httpPort: 0 },
    log: server.log,
    supervisors: server.supervisors,
    alerts: null,
  });
  t.after(() => http.close());
  return http;
}

export async function api<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T, headers: res.headers };
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Reads a Server-Sent Events stream with fetch, handing out events as they arrive. */
export class SseReader {
  readonly events: SseEvent[] = [];
  ended = false;
  readonly #controller = new AbortController();
  #waiters: (() => void)[] = [];
  #cursor = 0;
  status = 0;

  static async open(url: string): Promise<SseReader> {
    const r = new SseReader();
    const res = await fetch(url, { signal: r.#controller.signal, headers: { accept: 'text/event-stream' } });
    r.status = res.status;
    void r.#pump(res);
    return r;
  }

  async #pump(res: Response): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        // Scanned by offset and cut once per chunk: a reader that fell behind gets megabytes at once.
        let start = 0;
        let end: number;
        while ((end = buffer.indexOf('\n\n', start)) !== -1) {
          const block = buffer.slice(start, end);
          start = end + 2;
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) this.events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
        buffer = buffer.slice(start);
        this.#notify();
      }
    } catch {
      // aborted
    }
    this.ended = true;
    this.#notify();
  }

  #notify(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** The next event not yet consumed that satisfies pred (earlier ones are skipped). */
  async next(pred: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.events.length) {
        const e = this.events[this.#cursor++]!;
        if (pred(e)) return e;
      }
      if (this.ended) throw new Error(`event stream ended; events: ${JSON.stringify(this.events.map((e) => [e.event, e.data.state]))}`);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching SSE event within ${timeoutMs} ms`)), Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once the server has ended the stream. */
  async waitEnded(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the event stream did not end')), Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.#controller.abort();
  }
}

/** The default health section with these rules (and any other overrides). */
export function healthWith(rules: HealthRule[], rest: Partial<ReturnType<typeof defaultConfig>['health']> = {}): ReturnType<typeof defaultConfig>['health'] {
  return { ...defaultConfig().health, ...rest, rules };
}

export async function get(server: { httpPort: number | null }, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${server.httpPort}${path}`, { headers });
  return { status: res.status, text: await res.text() };
}

export interface HealthBody {
  status: 'ok' | 'fail';
  checkedAt: string;
  checks: { name: string; function?: string; state: 'ok' | 'fail'; reason: string; value?: number; threshold?: number }[];
}

export async function health(server: { httpPort: number | null }): Promise<{ status: number; body: HealthBody }> {
  const res = await get(server, '/health');
  return { status: res.status, body: JSON.parse(res.text) as HealthBody };
}

export function checkOf(body: HealthBody, name: string, fn?: string): HealthBody['checks'][number] {
  const c = body.checks.find((x) => x.name === name && x.function === fn);
  if (!c) throw new Error(`no check ${name} for ${fn ?? '(node)'} in ${JSON.stringify(body.checks)}`);
  return c;
}

/** Sends the path byte for byte (fetch would normalise dots and case of escapes). */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; text: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: body === undefined ? headers : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
