// Reads a V8 .cpuprofile (node --cpu-prof) and lists the functions with the most self time, optionally
// only over the samples taken inside the measuring windows (V8 stamps samples with the monotonic clock).

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /** The span asked for held no sample (clock mismatch): the whole profile was used. */
  whole: boolean;
  functions: HotFunction[];
  /** Lazaret functions by inclusive time (themselves and what they call), share of busy time. */
  inclusive: HotFunction[];
  /** Self time by origin: Lazaret code, node internals, native (syscalls, SQLite, buffers), GC. */
  origins: { origin: string; share: number }[];
}

/** Self time per function, as a share of the time the thread was busy (idle excluded). */
export function hotFunctions(file: string, root: string, top = 15, spanUs: [number, number] | null = null): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const collect = (span: [number, number] | null): Map<number, number> => {
    const self = new Map<number, number>();
    let t = profile.startTime;
    for (let i = 0; i < profile.samples.length; i++) {
      const delta = profile.timeDeltas[i] ?? 0;
      t += delta;
      if (span && (t < span[0] || t > span[1])) continue;
      const id = profile.samples[i]!;
      self.set(id, (self.get(id) ?? 0) + delta);
    }
    return self;
  };
  let self = collect(spanUs);
  const whole = spanUs !== null && self.size === 0;
  if (whole) self = collect(null);

  const grouped = new Map<string, HotFunction>();
  const origins = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const name = frame.functionName || '(anonymous)';
    const where = frame.url ? `${shortUrl(frame.url, root)}:${frame.lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const entry = grouped.get(key) ?? { name, where, selfMs: 0, share: 0 };
    entry.selfMs += us / 1000;
    grouped.set(key, entry);
    const origin = originOf(frame, root);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
  }
  const functions = [...grouped.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);

  // Inclusive time: each sample counts once for every distinct Lazaret function on its stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, HotFunction>();
  for (const [id, us] of self) {
    if (byId.get(id)?.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || originOf(frame, root) !== 'Lazaret') continue;
      const name = frame.functionName || '(anonymous)';
      const where = `${shortUrl(frame.url, root)}:${frame.lineNumber + 1}`;
      const key = `${name} ${where}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = inclusive.get(key) ?? { name, where, selfMs: 0, share: 0 };
      entry.selfMs += us / 1000;
      inclusive.set(key, entry);
    }
  }
  const inclusiveTop = [...inclusive.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  for (const f of inclusiveTop) f.share = busy > 0 ? (f.selfMs * 1000) / busy : 0;
  for (const f of functions) f.share = busy > 0 ? (f.selfMs * 1000) / busy : 0;
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    whole,
    functions,
    inclusive: inclusiveTop,
    origins: [...origins].map(([origin, us]) => ({ origin, share: busy > 0 ? us / busy : 0 })).sort((a, b) => b.share - a.share),
  };
}

function originOf(frame: ProfileNode['callFrame'], root: string): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)') return 'V8 (program)';
  if (url === '') return 'native (syscalls, SQLite, Buffer)';
  if (url.startsWith('node:')) return 'node internals';
  const path = shortUrl(url, root);
  if (path.includes('better-sqlite3')) return 'better-sqlite3 JS';
  if (path.startsWith('node_modules/')) return path.split('/')[1] ?? 'dependencies';
  if (path.startsWith('dist/') || path.startsWith('src/')) return 'Lazaret';
  return 'other';
}

function shortUrl(url: string, root: string): string {
  if (!url.startsWith('file://')) return url;
  const path = fileURLToPath(url);
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel;
}
