// The storage contract as tests (docs/architecture.md, Storage contract): every backend calls storageConformance() once with a
// factory and must pass all of it. A backend that cannot do something a section needs skips it with a
// logged reason instead of failing.

import { describe } from 'node:test';
import { alertsTests } from './alerts.js';
import { attemptsTests } from './attempts.js';
import { harness, type MakeAdapter } from './harness.js';
import { historyTests } from './history.js';
import { outcomesTests } from './outcomes.js';
import { quarantineTests } from './quarantine.js';
import { recoveryTests } from './recovery.js';
import { storedJobsTests } from './stored-jobs.js';
import { submitTests } from './submit.js';

export type { AdapterUnderTest, MakeAdapter } from './harness.js';

/**
 * Registers the whole suite. `makeAdapter` returns a new, unopened adapter over empty storage of its own
 * (a fresh file, a fresh schema) and a cleanup that closes it and removes the storage; the optional
 * `reopen` gives a further adapter over that same storage, for the restart tests.
 */
export function storageConformance(name: string, makeAdapter: MakeAdapter): void {
  describe(`storage conformance: ${name}`, () => {
    const h = harness(makeAdapter);
    describe('submit', () => submitTests(h));
    describe('attempts', () => attemptsTests(h));
    describe('quarantine', () => quarantineTests(h));
    describe('recovery', () => recoveryTests(h));
    describe('outcomes and tags', () => outcomesTests(h));
    describe('alerts', () => alertsTests(h));
    describe('job history', () => historyTests(h));
    describe('stored jobs: find and impact', () => storedJobsTests(h));
  });
}
