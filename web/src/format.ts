// How numbers, times and durations read on screen.

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = s / 60;
  if (m < 60) return `${Math.floor(m)} min ${Math.round(s % 60)} s`;
  const h = m / 60;
  if (h < 48) return `${Math.floor(h)} h ${Math.round(m % 60)} min`;
  return `${Math.floor(h / 24)} d ${Math.round(h % 24)} h`;
}

export function since(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  // The server's clock may run a little ahead of the browser's: never "-2 s ago".
  return `${duration(Math.max(0, now - Date.parse(iso)))} ago`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function count(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  return n.toLocaleString();
}

export function rate(perMin: number | null | undefined): string {
  if (perMin === null || perMin === undefined) return '—';
  return `${perMin < 10 ? perMin.toFixed(1) : Math.round(perMin).toLocaleString()}/min`;
}

export function percent(part: number, whole: number): string {
  if (whole <= 0) return '—';
  return `${((100 * part) / whole).toFixed(1)} %`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** "6h", "30m", "2d", "45s" -> milliseconds, or null. */
export function parseSpan(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$/.exec(text);
  if (!m) return null;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** Queued jobs by priority, spelled out: `high 0 · normal 1 · low 0`. */
export function byPriority(q: { high: number; normal: number; low: number }): string {
  return `high ${count(q.high)} · normal ${count(q.normal)} · low ${count(q.low)}`;
}
