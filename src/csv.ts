// CSV cells, shared by `lazaret impact --csv` and the dashboard's export (web/src/pages/Impact.tsx), so
// both guard spreadsheet formulas the same way. Plain TypeScript with no imports: the web build uses it.

/** A text cell that a spreadsheet would run as a formula (= + - @, or a leading tab or CR) stays text. */
export function guardFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/**
 * One cell, RFC 4180 quoted. Numbers are written as they are; text is formula-guarded first, then passed
 * through `clean` (the CLI escapes control characters there).
 */
export function csvCell(value: unknown, clean: (text: string) => string = (t) => t): string {
  if (typeof value === 'number') return String(value);
  const s = clean(guardFormula(value === null || value === undefined ? '' : String(value)));
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
