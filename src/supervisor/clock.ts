// The time the supervisor needs, declared here so this layer imports nothing from core/; core's
// systemClock and ManualClock have this shape, so the CLI passes the one and tests the other.

export interface TimerRef {
  cancel(): void;
}

export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): TimerRef;
}
