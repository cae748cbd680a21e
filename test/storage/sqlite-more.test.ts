// The storage conformance suite against SQLite, the quarantine and what keeps finished jobs (see sqlite.test.ts).

import { sqliteUnderTest } from '../helpers/store.js';
import { storageConformance } from './conformance/index.js';

storageConformance('sqlite', sqliteUnderTest, ['quarantine', 'outcomes and tags', 'alerts', 'job history']);
