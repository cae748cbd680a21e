// For state no event announces (a worker's registration, what a supervisor reported, a pid going away):
// polling, with a timeout that names what was awaited.

import { setTimeout as delay } from 'node:timers/promises';

/**
 * Calls `probe` after short pauses until it returns a value other than undefined or false, and returns
 * that value; fails naming `what` once timeoutMs has passed.
 */
export async function eventually<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(10);
  }
}
