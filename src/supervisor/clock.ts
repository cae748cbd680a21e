// The time the supervisor needs: the same Clock as the server's (src/clock.ts), so tests pass core's
// ManualClock and the CLI passes systemClock.

export { systemClock, type Clock, type TimerRef } from '../clock.js';
