// The storage conformance suite against SQLite, a fresh database file per test, in three files
// (this one, sqlite-more.test.ts, sqlite-queue.test.ts), so that each stays well inside the runner's
// time limit.

import { sqliteUnderTest } from '../helpers/store.js';
import { storageConformance } from './conformance/index.js';

storageConformance('sqlite', sqliteUnderTest, ['submit', 'attempts', 'recovery']);
