// A real gearmand for the library's compatibility tests: on a port found by binding port 0, stopped by
// the test that started it.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Owner } from '../interop/procs.js';

export const GEARMAND = '/usr/sbin/gearmand';
export const haveGearmand = existsSync(GEARMAND);

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Starts gearmand and resolves with its port once it accepts connections. */
export async function startGearmand(owner: Owner): Promise<number> {
  const port = await freePort();
  const child = spawn(GEARMAND, ['-p', String(port), '-L', '127.0.0.1', '--log-file', 'none'], { stdio: 'ignore' });
  owner.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  });
  // gearmand says nothing when it is ready: poll its port, briefly.
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`gearmand exited with ${child.exitCode} (port ${port} taken?)`);
    if (Date.now() > deadline) throw new Error(`gearmand did not listen on ${port} within 10 s`);
    await delay(20);
  }
  return port;
}
