// Time comes from a Clock, so tests can move it: the server's engine and the supervisor both take one.
// systemClock is the real one; core/clock.ts adds the ManualClock tests use.

export interface TimerRef {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Calls fn once after ms milliseconds (of this clock's time). */
  setTimer(ms: number, fn: () => void): TimerRef;
}

/** setTimeout's ceiling (about 24.8 days); a longer delay would fire after 1 ms. */
const MAX_TIMEOUT_MS = 2_147_483_647;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    let t: NodeJS.Timeout;
    // Far-off times (an epoch job for next year, a maxRuntime of weeks) are reached in steps below the ceiling.
    const arm = (left: number): void => {
      t = setTimeout(() => (left > MAX_TIMEOUT_MS ? arm(left - MAX_TIMEOUT_MS) : fn()), Math.min(Math.max(0, left), MAX_TIMEOUT_MS));
      t.unref?.();
    };
    arm(ms);
    return { cancel: () => clearTimeout(t) };
  },
};
