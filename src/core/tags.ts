// Tags on jobs (docs/architecture.md, Vocabulary: job): `key:value` strings set by the submitter, or extracted
// from JSON payloads by per-function rules, so Gearman clients that know nothing of tags still get them.

import picomatch from 'picomatch';
import { NO_TAGS } from './job.js';

export interface TagRule {
  /** Glob over function names, e.g. `email.*`. */
  function: string;
  /** Paths into the JSON payload, dots for nesting: `user_id`, `account.id`. Each gives `path:value`. */
  fromPayload: string[];
}

/** Longest tag kept; longer values are not identifiers and are skipped. */
export const MAX_TAG_LENGTH = 200;
/** Most tags on one job. */
export const MAX_TAGS = 32;

export class TagRules {
  readonly #rules: { test: (name: string) => boolean; paths: string[][]; names: string[] }[];
  /** Function name -> the paths that apply to it (null: none, the usual case, costs one lookup). */
  readonly #cache = new Map<string, { paths: string[][]; names: string[] } | null>();

  constructor(rules: readonly TagRule[] = []) {
    this.#rules = rules.map((r) => ({ test: picomatch(r.function, { dot: true }), paths: r.fromPayload.map((p) => p.split('.')), names: r.fromPayload }));
  }

  /** The tags of a new job: the submitter's, then those its function's rules find in the payload. */
  tagsFor(fn: string, payload: Buffer, given: readonly string[] | undefined): readonly string[] {
    const rule = this.#for(fn);
    if (rule === null) return given === undefined || given.length === 0 ? NO_TAGS : given;
    const tags = [...(given ?? [])];
    for (const tag of fromPayload(payload, rule.paths, rule.names)) {
      if (tags.length >= MAX_TAGS) break;
      if (!tags.includes(tag)) tags.push(tag);
    }
    return tags.length === 0 ? NO_TAGS : tags;
  }

  #for(fn: string): { paths: string[][]; names: string[] } | null {
    let hit = this.#cache.get(fn);
    if (hit === undefined) {
      const matching = this.#rules.filter((r) => r.test(fn));
      hit = matching.length === 0 ? null : { paths: matching.flatMap((r) => r.paths), names: matching.flatMap((r) => r.names) };
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(fn, hit);
    }
    return hit;
  }
}

/** A payload that is not JSON, or lacks a path, simply gives fewer tags: never an error. */
function fromPayload(payload: Buffer, paths: string[][], names: string[]): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return [];
  }
  const tags: string[] = [];
  paths.forEach((path, i) => {
    let v: unknown = doc;
    for (const key of path) v = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return;
    const tag = `${names[i]}:${String(v)}`;
    if (tag.length <= MAX_TAG_LENGTH) tags.push(tag);
  });
  return tags;
}
