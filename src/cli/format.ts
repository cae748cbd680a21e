// Human output: aligned tables, relative times. --json prints the same result as data.
// Everything shown comes partly from peers (function names, tags, errors, client ids): it goes through
// safe() so no terminal escape or line break in it reaches the terminal raw.

import { csvCell } from '../csv.js';
import { escapeControls } from '../protocol/escape.js';
import { ErrorCode, LazaretError } from '../errors.js';

/** Text from the server or a state file, fit for a terminal: control characters as visible escapes. */
export function safe(text: string): string {
  return escapeControls(text);
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 controls only; DEL, C1 controls, separators and bidi
 * overrides get \u escapes too (the same data, still valid JSON).
 */
export function safeJson(value: unknown, indent?: number): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(value, null, indent).replace(
    /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Several lines of text for a terminal: each escaped, joined by newlines. */
export function safeLines(lines: string[]): string {
  return `${lines.map(safe).join('\n')}\n`;
}

export function table(headers: string[], unsafeRows: string[][]): string {
  const rows = unsafeRows.map((r) => r.map(safe));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

export function ago(isoTime: string | null, now = Date.now()): string {
  if (isoTime === null) return '-';
  const s = Math.round((now - Date.parse(isoTime)) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

const DURATION = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/;
const UNIT: Record<string, number> = { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 };

/** `2h` (two hours ago), `7d`, or an ISO time -> ISO time. */
export function timeArg(value: string, now = Date.now()): string {
  const m = DURATION.exec(value.trim());
  if (m) return new Date(now - Number(m[1]) * UNIT[m[2]!]!).toISOString();
  const t = Date.parse(value);
  if (!Number.isFinite(t)) {
    throw new LazaretError(ErrorCode.BAD_REQUEST, `"${value}" is neither a duration such as 2h or 7d nor an ISO time`, {
      hint: 'durations count back from now: 30m, 2h, 7d; or give a time such as 2026-11-27T10:00:00Z',
    });
  }
  return new Date(t).toISOString();
}

/** 950 -> `950ms`, 42_000 -> `42s`, 3_900_000 -> `1h05m`. */
export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

/** One CSV line (RFC 4180 quoting), formula-guarded as the dashboard's export, controls escaped. */
export function csvLine(cells: (string | number)[]): string {
  return `${cells.map((c) => csvCell(c, safe)).join(',')}\n`;
}

const SPAN = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** `500ms`, `30s`, `2m`, `1h`, or a bare number of seconds -> milliseconds. */
export function durationArg(value: string, name: string): number {
  const m = SPAN.exec(value.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : UNIT[m[2] ?? 's']!) : Number.NaN;
  if (!(ms > 0)) throw new LazaretError(ErrorCode.BAD_REQUEST, `${name} "${value}" is not a duration`, { hint: 'write e.g. 500ms, 30s or 2m' });
  return ms;
}
