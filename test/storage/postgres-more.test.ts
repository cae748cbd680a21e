// The storage conformance suite against PostgreSQL, the quarantine and what keeps finished jobs (see postgres.test.ts).

import { postgresUnderTest } from '../helpers/postgres.js';
import { storageConformance } from './conformance/index.js';

storageConformance('postgres', postgresUnderTest, ['quarantine', 'outcomes and tags', 'alerts', 'job history']);
