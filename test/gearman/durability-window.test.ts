// Durability across a crash of the real server process with a window of 16 jobs per function and
// priority: the kill lands while a worker takes jobs and the windows refill from the store, and the
// restart serves a backlog the store alone holds. See test/helpers/durability.ts.

import { test } from 'node:test';
import { killMidStream } from '../helpers/durability.js';

test('with a window of 16, a kill -9 while a worker drains and windows refill loses nothing and delivers nothing twice', (t) => killMidStream(t, 16));
