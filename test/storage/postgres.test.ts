// The storage conformance suite against PostgreSQL, a fresh schema per test on the test server
// (test/helpers/postgres.ts), dropped when the test ends; in three files (this one,
// postgres-more.test.ts, postgres-queue-conformance.test.ts), so that each stays well inside the
// runner's time limit.

import { postgresUnderTest } from '../helpers/postgres.js';
import { storageConformance } from './conformance/index.js';

storageConformance('postgres', postgresUnderTest, ['submit', 'attempts', 'recovery']);
