// The storage contract as tests (docs/architecture.md, Storage contract): every backend calls storageConformance() once with a
// factory and must pass all of it. A backend that cannot do something a section needs skips it with a
// logged reason instead of failing.

import { describe } from 'node:test';
import { alertsTests } from './alerts.js';
import { attemptsTests } from './attempts.js';
import { harness, type MakeAdapter } from './harness.js';
import { historyTests } from './history.js';
import { outcomesTests } from './outcomes.js';
import { queueTests } from './queue.js';
import { quarantineTests } from './quarantine.js';
import { recoveryTests } from './recovery.js';
import { storedJobsTests } from './stored-jobs.js';
import { submitTests } from './submit.js';

export type { AdapterUnderTest, MakeAdapter } from './harness.js';

/** The suite's sections; a backend's test files may run them in parts (each file has its own time limit). */
export const SECTIONS = {
  submit: submitTests,
  attempts: attemptsTests,
  quarantine: quarantineTests,
  recovery: recoveryTests,
  'queue of record': queueTests,
  'outcomes and tags': outcomesTests,
  alerts: alertsTests,
  'job history': historyTests,
  'stored jobs: find and impact': storedJobsTests,
} as const;

export type Section = keyof typeof SECTIONS;

/**
 * Registers the suite, or the given sections of it. `makeAdapter` returns a new, unopened adapter over
 * empty storage of its own (a fresh file, a fresh schema) and a cleanup that closes it and removes the
 * storage; the optional `reopen` gives a further adapter over that same storage, for the restart tests.
 * Every backend must pass every section: split them across files, never leave one out.
 */
export function storageConformance(name: string, makeAdapter: MakeAdapter, sections: readonly Section[] = Object.keys(SECTIONS) as Section[]): void {
  describe(`storage conformance: ${name}`, () => {
    const h = harness(makeAdapter);
    for (const s of sections) describe(s, () => SECTIONS[s](h));
  });
}
