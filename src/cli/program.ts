// The command tree. Each command lives in commands/ as run(opts, io) -> exit code.

import { Command, Option } from 'commander';
import { VERSION } from '../server.js';
import { processIO, type CliIO } from './io.js';
import { runServe } from './commands/serve.js';

export function buildProgram(io: CliIO = processIO): Command {
  const program = new Command('lazaret')
    .description('A Gearman-compatible job server that never loses a job and quarantines the ones that kill workers')
    .version(VERSION)
    .exitOverride((err) => {
      throw err;
    })
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  program
    .command('serve')
    .description('run the server: Gearman on --port, HTTP API and dashboard on --http-port')
    .option('-c, --config <file>', 'JSON config file (default ./lazaret.json if present; env LAZARET_CONFIG)')
    .option('--host <addr>', 'Gearman listen address (default 127.0.0.1)')
    .option('-p, --port <port>', 'Gearman port (default 4730; 0 = any free port)')
    .option('--http-host <addr>', 'HTTP listen address (default 127.0.0.1)')
    .option('--http-port <port>', 'HTTP port (default 4731; "off" = no HTTP)')
    .option('--db <file>', 'SQLite file (default ./data/lazaret.db)')
    .option('--admin-token <token>', 'token for admin actions from beyond loopback (env LAZARET_ADMIN_TOKEN)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .action(async (opts) => {
      process.exitCode = await runServe(opts, io);
    });

  return program;
}
