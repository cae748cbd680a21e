// The closing table: one row per figure, one column per server, then Lazaret's ratio to each gearmand
// with the target it is held to. Figures are printed, never asserted: timing belongs in bench/, never in a test.

import { readdirSync } from 'node:fs';
import { hotFunctions } from './profile.js';
import { SERVER_LABEL, type ServerKind } from './servers.js';

type Other = Exclude<ServerKind, 'lazaret'>;

export interface Row {
  label: string;
  payload: string;
  unit: string;
  /** Higher is better (rates) or lower (latency, memory). */
  better: 'higher' | 'lower';
  values: Partial<Record<ServerKind, number>>;
  /** Printed beside a value, e.g. when fewer jobs than asked could be loaded. */
  notes: Partial<Record<ServerKind, string>>;
  /** Lazaret / other: met when >= target (higher is better) or <= target (lower is better). */
  targets: Partial<Record<Other, number>>;
  decimals: number;
}

export const fmt = (n: number, decimals = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals }) : 'n/a';

export class Report {
  readonly #rows: Row[] = [];
  readonly #servers: readonly ServerKind[];
  readonly #out: (line?: string) => void;

  constructor(servers: readonly ServerKind[], out: (line?: string) => void) {
    this.#servers = servers;
    this.#out = out;
  }

  /** The row for (label, payload), created on first use in the order rows are met. */
  row(label: string, payload: string, unit: string, better: Row['better'], targets: Row['targets'], decimals = 0): Row {
    let r = this.#rows.find((x) => x.label === label && x.payload === payload);
    if (!r) {
      r = { label, payload, unit, better, values: {}, notes: {}, targets, decimals };
      this.#rows.push(r);
    }
    return r;
  }

  printTable(): void {
    // A run of workloads that print their own table (pg) has no row here.
    if (this.#rows.length === 0) return;
    const out = this.#out;
    const servers = this.#servers;
    const others = servers.filter((s): s is Other => s !== 'lazaret');
    const header = [
      'workload',
      'payload',
      'unit',
      ...servers.map((s) => SERVER_LABEL[s]),
      ...others.map((s) => `Lazaret/${SERVER_LABEL[s].replace('gearmand', 'gd').replace('Lazaret ', '')}`),
    ];
    const lines: string[][] = [header];
    const missed: string[] = [];
    let judged = 0;
    for (const r of this.#rows) {
      const cells = [r.label, r.payload, r.unit];
      for (const s of servers) {
        const v = r.values[s];
        cells.push(v === undefined ? '-' : `${fmt(v, r.decimals)}${r.notes[s] ? ` (${r.notes[s]})` : ''}`);
      }
      for (const s of others) {
        const l = r.values.lazaret;
        const g = r.values[s];
        if (l === undefined || g === undefined || !(g > 0)) {
          cells.push('-');
          continue;
        }
        const ratio = l / g;
        const target = r.targets[s];
        let cell = `${ratio >= 100 ? fmt(ratio) : ratio.toFixed(2)}x`;
        if (target !== undefined) {
          const sign = r.better === 'higher' ? '>=' : '<=';
          const met = r.better === 'higher' ? ratio >= target : ratio <= target;
          judged++;
          cell += ` ${sign}${target}x ${met ? 'ok' : 'MISS'}`;
          if (!met) missed.push(`${r.label} ${r.payload} vs ${SERVER_LABEL[s]}: ${ratio.toFixed(2)}x, target ${sign} ${target}x`);
        }
        cells.push(cell);
      }
      lines.push(cells);
    }
    const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
    const render = (l: string[]): string => l.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    out(render(lines[0]!));
    out(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const l of lines.slice(1)) out(render(l));
    if (judged > 0) {
      out();
      out(missed.length === 0 ? `All ${judged} targets met.` : `Targets missed: ${missed.length} of ${judged}\n  ${missed.join('\n  ')}`);
    }
  }

  /** For each Lazaret case run under --cpu-prof: where its main thread spent the measuring window. */
  printProfiles(profiles: readonly { name: string; file: string; span: [number, number] | null }[], dir: string, root: string): void {
    const out = this.#out;
    const present = new Set(readdirSync(dir));
    for (const p of profiles) {
      if (!present.has(p.file.slice(dir.length + 1))) {
        out(`profile ${p.name}: not written (the server did not exit normally)`);
        continue;
      }
      const s = hotFunctions(p.file, root, 14, p.span);
      const scope = s.whole || p.span === null ? 'whole run (startup included)' : 'measuring window';
      out(`profile ${p.name}, ${scope}: main thread busy ${fmt(s.busyMs)} ms, idle ${fmt(s.idleMs)} ms`);
      out(`  by origin: ${s.origins.map((o) => `${o.origin} ${(o.share * 100).toFixed(0)}%`).join(', ')}`);
      out('  self time:');
      for (const f of s.functions) out(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${fmt(f.selfMs).padStart(6)} ms  ${f.name}  ${f.where}`);
      out('  Lazaret functions, inclusive time (with what they call):');
      for (const f of s.inclusive.slice(0, 10)) out(`  ${(f.share * 100).toFixed(1).padStart(5)}%  ${fmt(f.selfMs).padStart(6)} ms  ${f.name}  ${f.where}`);
    }
    out(`profiles kept in ${dir} (open them in Chrome DevTools or speedscope)`);
  }
}
