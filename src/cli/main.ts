#!/usr/bin/env node
// The `lazaret` command: parse, run, set the exit status. Everything else lives in program.ts.

import { isLazaretError } from '../errors.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (isLazaretError(err)) {
    process.stderr.write(`lazaret: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
