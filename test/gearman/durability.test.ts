// Durability across a crash of the real server process, the whole backlog in memory (the default
// window): see test/helpers/durability.ts for what is checked.

import { test } from 'node:test';
import { killMidStream } from '../helpers/durability.js';

test('a kill -9 mid-stream loses no acknowledged job; the running job comes back charged', (t) => killMidStream(t, null));
