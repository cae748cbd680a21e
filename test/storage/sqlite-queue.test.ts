// The storage conformance suite against SQLite, the queue of record and the stored-job listings (the
// rest: sqlite.test.ts, sqlite-more.test.ts; three files, so each stays well inside the runner's time limit).

import { sqliteUnderTest } from '../helpers/store.js';
import { storageConformance } from './conformance/index.js';

storageConformance('sqlite', sqliteUnderTest, ['queue of record', 'stored jobs: find and impact']);
