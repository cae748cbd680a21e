// The command tree. Each command lives in commands/ as run(opts, io) -> exit code.

import { Command, Option } from 'commander';
import { VERSION } from '../version.js';
import { processIO, type CliIO } from './io.js';
import { dlqEdit, dlqList, dlqPurge, dlqRequeue, dlqShow } from './commands/dlq.js';

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
      // Loaded on demand: the other commands only talk HTTP and should start fast.
      const { runServe } = await import('./commands/serve.js');
      process.exitCode = await runServe(opts, io);
    });

  program
    .command('check')
    .description('post-deploy check: submit a real job through a running server and its workers; non-zero exit with the reason when it fails')
    .option('--server <addresses>', 'Gearman server(s), host:port[,host:port] (default 127.0.0.1:4730)')
    .option('-f, --function <name>', 'function to call (default lazaret.check, answered by workers started with check: true)')
    .option('--payload <text>', 'payload (default: a fresh text naming this host and time)')
    .option('--expect <text>', 'expected result (default: the payload for lazaret.check; any result otherwise)')
    .option('--timeout <duration>', 'longest wait for the result: 500ms, 30s, 2m (default 30s)')
    .action(async (opts) => {
      const { runCheck } = await import('./commands/check.js');
      process.exitCode = await runCheck(opts, io);
    });

  const dlq = program.command('dlq').description('the quarantine (dead-letter queue) of a running server, through its HTTP API');
  const remote = (cmd: Command): Command =>
    cmd
      .option('--server <url>', 'server HTTP address (env LAZARET_URL, default http://127.0.0.1:4731)')
      .option('--token <token>', 'admin token, needed from beyond loopback (env LAZARET_TOKEN)')
      .option('--json', 'print JSON instead of a table');
  const filters = (cmd: Command): Command =>
    cmd
      .option('-f, --function <name>', 'only jobs of this function')
      .addOption(new Option('-r, --reason <reason>', 'only this reason').choices(['max_attempts', 'max_crashes', 'timed_out', 'expired', 'cancelled', 'rejected']))
      .option('--since <time>', 'quarantined since: a duration ago (30m, 2h, 7d) or an ISO time');

  remote(filters(dlq.command('list').description('list quarantined jobs, newest first')))
    .option('--limit <n>', 'at most this many (default 1000)')
    .action(async (opts) => void (process.exitCode = await dlqList(opts, io)));
  remote(dlq.command('show <id>').description('one quarantined job: payload preview and every attempt'))
    .action(async (id: string, opts) => void (process.exitCode = await dlqShow(id, opts, io)));
  remote(filters(dlq.command('requeue [ids...]').description('send quarantined jobs back to their queue with a fresh budget')))
    .option('--all', 'every entry matching the filters (all of them without filters)')
    .action(async (ids: string[], opts) => void (process.exitCode = await dlqRequeue(ids, opts, io)));
  remote(dlq.command('edit <id>').description('replace the payload of a quarantined job, then requeue it'))
    .requiredOption('--payload-file <file>', 'the new payload ("-" = stdin)')
    .action(async (id: string, opts) => void (process.exitCode = await dlqEdit(id, opts, io)));
  remote(filters(dlq.command('purge [ids...]').description('delete quarantined jobs for good')))
    .option('--older-than <time>', 'quarantined before: a duration ago (7d) or an ISO time')
    .option('--all', 'every entry matching the filters (all of them without filters)')
    .action(async (ids: string[], opts) => void (process.exitCode = await dlqPurge(ids, opts, io)));

  return program;
}
