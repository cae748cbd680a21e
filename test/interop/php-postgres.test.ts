// The tests of php.test.ts, each against a node whose store is a fresh schema on the test PostgreSQL.

import { storeUnderTest } from '../helpers/server.js';

storeUnderTest('postgres');
await import('./php.test.js');
