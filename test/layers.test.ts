// The layers of docs/architecture.md, checked on the source: the import table read from that page, SQL
// only under src/storage, error codes written only in the catalogue. A regex over the files is enough:
// the code base writes imports one way (`import … from '…'`, `export … from '…'`, `import('…')`).

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sources(path));
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** A row's name or an allowed target: `core/` (a folder of src), `errors.ts` (a file of src), `web/src/`. */
function pathOf(token: string): string {
  return token.startsWith('web/') ? token : `src/${token}`;
}

interface Rule {
  /** Repository path the row covers: a folder ending in `/`, or a file. */
  layer: string;
  /** null = anything. */
  allowed: string[] | null;
}

function rulesFromDoc(): Rule[] {
  const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Layers'), doc.indexOf('## A background job'));
  const rules: Rule[] = [];
  for (const m of section.matchAll(/^\| `([^`]+)` \| (.+) \|$/gm)) {
    const cell = m[2]!;
    const allowed = cell.trim() === 'anything' ? null : [...cell.matchAll(/`([^`]+)`/g)].map((t) => pathOf(t[1]!));
    rules.push({ layer: pathOf(m[1]!), allowed });
  }
  return rules;
}

const covers = (layer: string, file: string): boolean => (layer.endsWith('/') ? file.startsWith(layer) : file === layer);

/** Relative imports of a file, resolved to repository paths (`.js` in the source names a `.ts` file). */
function importsOf(file: string, text: string): string[] {
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm),
  ].map((m) => m[1] ?? m[2] ?? m[3]!);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(ROOT, normalize(join(ROOT, dirname(file), s))).replace(/\.jsx?$/, (ext) => (ext === '.jsx' ? '.tsx' : '.ts')));
}

/** The source without comments, so that prose may mention SQL and error codes. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function stringLiterals(text: string): string[] {
  return [...code(text).matchAll(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g)].map((m) => m[0]);
}

const SRC = sources('src');
const WEB = sources('web/src');

test('every import in src/ and web/src/ follows the layer table of docs/architecture.md', () => {
  const rules = rulesFromDoc();
  assert.ok(rules.length >= 10, 'the table is found in docs/architecture.md');
  const ruleFor = (file: string): Rule | undefined => rules.filter((r) => covers(r.layer, file)).sort((a, b) => b.layer.length - a.layer.length)[0];
  const uncovered: string[] = [];
  const forbidden: string[] = [];
  for (const file of [...SRC, ...WEB]) {
    const rule = ruleFor(file);
    if (rule === undefined) {
      uncovered.push(file);
      continue;
    }
    if (rule.allowed === null) continue;
    for (const target of importsOf(file, readFileSync(join(ROOT, file), 'utf8'))) {
      if (covers(rule.layer, target)) continue;
      if (file.startsWith('web/') && target.startsWith('web/')) continue;
      if (!rule.allowed.some((a) => covers(a, target))) forbidden.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(uncovered, [], 'files that no row of the layer table covers: add a row');
  assert.deepEqual(forbidden, [], 'imports the layer table does not allow');
});

test('the import reader sees every form the code base uses, and the table forbids what it should', () => {
  const text = [
    "import type { A } from '../storage/types.js';",
    "import { B,\n  C } from './sibling.js';",
    "export { D } from '../domain.js';",
    "const m = await import('./http/server.js');",
    "import 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf('src/core/x.ts', text), ['src/storage/types.ts', 'src/core/sibling.ts', 'src/domain.ts', 'src/core/http/server.ts']);
  const rules = rulesFromDoc();
  const allowed = (from: string, to: string): boolean => {
    const rule = rules.filter((r) => covers(r.layer, from)).sort((a, b) => b.layer.length - a.layer.length)[0]!;
    return rule.allowed === null || covers(rule.layer, to) || rule.allowed.some((a) => covers(a, to));
  };
  // The edges this table was written to stop.
  assert.equal(allowed('src/http/server.ts', 'src/gearman/connection.ts'), false);
  assert.equal(allowed('src/http/views.ts', 'src/storage/types.ts'), false);
  assert.equal(allowed('src/gearman/handlers/submit.ts', 'src/storage/types.ts'), false);
  assert.equal(allowed('src/supervisor/config.ts', 'src/config.ts'), false);
  assert.equal(allowed('src/protocol/decoder.ts', 'src/errors.ts'), false);
  assert.equal(allowed('src/core/engine.ts', 'src/observe/supervisors.ts'), false);
  assert.equal(allowed('src/client/worker.ts', 'src/core/clock.ts'), false);
  assert.equal(allowed('src/cli/commands/supervise.ts', 'src/core/clock.ts'), true);
});

const SQL = /\b(SELECT\b[\s\S]+\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX|TRIGGER)|DROP\s+TABLE|PRAGMA\s+\w+)\b/;

test('SQL is written only under src/storage/', () => {
  assert.ok(SQL.test("'SELECT id FROM jobs'") && SQL.test('`INSERT OR IGNORE INTO ids`') && !SQL.test("'select a job from the list'"));
  const found: string[] = [];
  for (const file of [...SRC, ...WEB]) {
    if (file.startsWith('src/storage/')) continue;
    for (const lit of stringLiterals(readFileSync(join(ROOT, file), 'utf8'))) if (SQL.test(lit)) found.push(`${file}: ${lit.slice(0, 80)}`);
  }
  assert.deepEqual(found, []);
});

test('comments and docs cite files of this repository only, and gearmand behaviours the README lists', () => {
  const files = [...SRC, ...WEB, ...sources('test'), ...sources('bench'), ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`), 'README.md'];
  const outside =
    /DESIGN\.md|STYLE ?\u00a7|shared\/reference|\.\.\/shared|\b[Ii]ssue #?[0-9]+\b|\u00a7|gearman-protocol\.md|gearman-admin-protocol\.md|gearmand-behaviours\.md/;
  assert.ok(
    outside.test(`see ${'DESIGN'}.md`) &&
      outside.test('(STYLE \u00a71.4)') &&
      outside.test(`as in ${'issue'} 5`) &&
      outside.test('// Issue 4: deadlines') &&
      !outside.test('docs/architecture.md'),
  );
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const listed = new Set([...readme.slice(readme.indexOf('## Where Lazaret differs')).matchAll(/\bB(\d+)\b/g)].map((m) => m[1]));
  const found: string[] = [];
  for (const file of files) {
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        // This file names the patterns it looks for.
        if (file === 'test/layers.test.ts') return;
        if (outside.test(line)) found.push(`${file}:${i + 1}: ${line.trim().slice(0, 100)}`);
        for (const m of line.matchAll(/\(B(\d+)\b|README, Where Lazaret differs: B(\d+)/g)) {
          if (!listed.has(m[1] ?? m[2]!)) found.push(`${file}:${i + 1}: B${m[1] ?? m[2]} is not explained in the README`);
        }
      });
  }
  assert.deepEqual(found, []);
});

const CATALOGUE = ['src/errors.ts', 'src/protocol/errors.ts', 'src/client/errors.ts'];

test('error codes are written as literals only in the error catalogue', () => {
  const found: string[] = [];
  for (const file of [...SRC, ...WEB]) {
    if (CATALOGUE.includes(file)) continue;
    for (const lit of stringLiterals(readFileSync(join(ROOT, file), 'utf8'))) if (/LAZ_[A-Z_]+/.test(lit)) found.push(`${file}: ${lit.slice(0, 80)}`);
  }
  assert.deepEqual(found, [], 'use ErrorCode / ClientErrorCode instead');
});
