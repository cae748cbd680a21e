// Programs from the docs (the worker loops of docs/workers.md, the transactional enqueue of
// docs/cluster.md), taken from the page as written, so the tests run what an operator copies.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../quarantine/helpers.js';

/** The first code block of `lang` in the section `heading` of `page` (default docs/workers.md). */
export async function documented(heading: string, lang: string, page = 'docs/workers.md'): Promise<string> {
  const doc = await readFile(join(REPO_ROOT, page), 'utf8');
  const from = doc.indexOf(`## ${heading}`);
  assert.notEqual(from, -1, `section "${heading}" in ${page}`);
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(doc.slice(from));
  assert.ok(m, `a ${lang} block under "${heading}"`);
  return m[1]!;
}
