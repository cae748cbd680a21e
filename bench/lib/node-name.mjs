// Preloaded (node --import) into a bench's Lazaret node on PostgreSQL: os.hostname() answers
// BENCH_NODE_NAME, the name the node takes on the shared store (its default is the host name, the same
// for every node on this machine, and a second node under a name in use is refused).
import os from 'node:os';
import { syncBuiltinESMExports } from 'node:module';

const name = process.env.BENCH_NODE_NAME;
if (name) {
  os.hostname = () => name;
  syncBuiltinESMExports();
}
