// The storage conformance suite against PostgreSQL, the queue of record and the stored-job listings (see postgres.test.ts).

import { postgresUnderTest } from '../helpers/postgres.js';
import { storageConformance } from './conformance/index.js';

storageConformance('postgres', postgresUnderTest, ['queue of record', 'stored jobs: find and impact']);
