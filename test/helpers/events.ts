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
