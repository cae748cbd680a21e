// SUBMIT_JOB_SCHED: MINUTE HOUR MDAY MONTH WDAY, each a number or empty for "any", like one line of
// cron without ranges. gearmand 1.1 refuses the packet; Lazaret runs the job at the next matching
// minute (UTC).

const RANGES: [string, number, number][] = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12],
  ['day of week', 0, 6],
];

const DAY = 86_400_000;
const SEARCH_DAYS = 366 * 8;

/** Next matching time at or after now (ms), or an error sentence. */
export function nextScheduledTime(fields: readonly string[], now: number): number | string {
  const want: (number | null)[] = [];
  for (let i = 0; i < 5; i++) {
    const text = (fields[i] ?? '').trim();
    if (text === '' || text === '*') {
      want.push(null);
      continue;
    }
    const [name, lo, hi] = RANGES[i]!;
    const n = /^\d{1,2}$/.test(text) ? Number(text) : Number.NaN;
    if (!(n >= lo && n <= hi)) return `SUBMIT_JOB_SCHED ${name} must be ${lo}-${hi} or empty, got "${text.slice(0, 20)}"`;
    want.push(n);
  }
  const [minute, hour, mday, month, wday] = want;
  const start = Math.ceil(now / 60_000) * 60_000;
  const firstDay = Math.floor(start / DAY) * DAY;
  for (let d = 0; d < SEARCH_DAYS; d++) {
    const day = new Date(firstDay + d * DAY);
    if (mday != null && day.getUTCDate() !== mday) continue;
    if (month != null && day.getUTCMonth() + 1 !== month) continue;
    if (wday != null && day.getUTCDay() !== wday) continue;
    for (let h = hour ?? 0; h <= (hour ?? 23); h++) {
      for (let m = minute ?? 0; m <= (minute ?? 59); m++) {
        const t = day.getTime() + h * 3_600_000 + m * 60_000;
        if (t >= start) return t;
      }
    }
  }
  return 'SUBMIT_JOB_SCHED fields never match a date';
}
