// Servers with their HTTP side on port 0, and plain HTTP requests to them (observability tests).

import type { TestContext } from 'node:test';
import type { Clock } from '../../src/core/clock.js';
import type { HealthRule } from '../../src/core/health.js';
import { defaultConfig } from '../../src/config.js';
import type { ConfigPatch, TestServer } from '../helpers/server.js';
import { serverFor } from '../quarantine/helpers.js';

export { grab, peerFor, submitBg, waitEvent } from '../quarantine/helpers.js';

export async function httpServerFor(t: TestContext, patch: ConfigPatch = {}, opts: { clock?: Clock } = {}): Promise<TestServer> {
  return serverFor(t, { httpPort: 0, ...patch }, opts);
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
