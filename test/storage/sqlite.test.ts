// The storage conformance suite against SQLite, in three files (sqlite-more.test.ts, sqlite-queue.test.ts), so each file
// stays well inside the runner's time limit): a fresh database file per test.

import { sqliteUnderTest } from '../helpers/store.js';
import { storageConformance } from './conformance/index.js';

storageConformance('sqlite', sqliteUnderTest, ['submit', 'attempts', 'recovery']);
