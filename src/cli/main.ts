#!/usr/bin/env node
// The `lazaret` command: parse, run, set the exit status. Everything else lives in program.ts.

import { CommanderError } from 'commander';
import { isLazaretError } from '../errors.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help, --version and usage errors: commander has already printed what there is to say.
    process.exitCode = err.exitCode;
  } else if (isLazaretError(err)) {
    process.stderr.write(`lazaret: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
