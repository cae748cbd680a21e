#!/usr/bin/env node
// The `lazaret` command: parse, run, set the exit status. Everything else lives in program.ts.

import { CommanderError } from 'commander';
import { isLazaretError } from '../errors.js';
import { safeLines } from './format.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help, --version and usage errors: commander has already printed what there is to say.
    process.exitCode = err.exitCode;
  } else if (isLazaretError(err)) {
    // Messages can quote what the server or a peer sent (function names, errors): escaped for the terminal.
    process.stderr.write(safeLines([`lazaret: ${err.message}`.split('\n'), err.hint ? [`hint: ${err.hint}`] : []].flat()));
    process.exitCode = 2;
  } else {
    throw err;
  }
}
