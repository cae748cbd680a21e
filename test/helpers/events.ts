// Waiting on engine events instead of sleeping.

import type { Engine } from '../../src/core/engine.js';
import type { EngineEvents } from '../../src/core/events.js';

export type EventName = keyof EngineEvents & string;

/**
 * Resolves with the arguments of the next `event` that satisfies `pred`. Call it before the action that
 * causes the event: it listens from the moment it is called. A timeout names the event it waited for.
 */
export function waitEvent<K extends EventName>(
  engine: Engine,
  event: K,
  pred: (...args: EngineEvents[K]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<EngineEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      engine.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for engine event ${event}`));
    }, timeoutMs);
    const listener = (...args: EngineEvents[K]): void => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      engine.off(event, listener);
      resolve(args);
    };
    engine.on(event, listener);
  });
}

/** What can clean up after a test: a TestContext, or a suite's `after`. */
export interface Owner {
  after(fn: () => unknown): void;
}

/** Records every `event` that passes `pred` from now on, until the owner ends (to assert what did or did not happen). */
export function recordEvents<K extends EventName>(
  owner: Owner,
  engine: Engine,
  event: K,
  pred: (...args: EngineEvents[K]) => boolean = () => true,
): EngineEvents[K][] {
  const seen: EngineEvents[K][] = [];
  const listener = (...args: EngineEvents[K]): void => {
    if (pred(...args)) seen.push(args);
  };
  engine.on(event, listener);
  owner.after(() => engine.off(event, listener));
  return seen;
}
