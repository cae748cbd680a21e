// The command tree. Each command lives in commands/ as run(opts, io) -> exit code.

import { Command, Option } from 'commander';
import { QUARANTINE_REASONS } from '../domain.js';
import { VERSION } from '../version.js';
import { processIO, type CliIO } from './io.js';
import { dlqEdit, dlqList, dlqPurge, dlqRequeue, dlqShow } from './commands/dlq.js';
import { impact } from './commands/impact.js';
import { status } from './commands/status.js';

export function buildProgram(io: CliIO = processIO): Command {
  const program = new Command('lazaret')
    .description('A Gearman-compatible job server that never loses a job and quarantines the ones that kill workers')
    .version(VERSION)
    .exitOverride((err) => {
      throw err;
    })
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    // So that `supervise -- COMMAND --its-flags` passes the program's flags through untouched.
    .enablePositionalOptions();

  program
    .command('serve')
    .description('run the server: Gearman on --port, HTTP API and dashboard on --http-port')
    .option('-c, --config <file>', 'JSON config file (default ./lazaret.json if present; env LAZARET_CONFIG)')
    .option('--host <addr>', 'Gearman listen address (default 127.0.0.1)')
    .option('-p, --port <port>', 'Gearman port (default 4730; 0 = any free port)')
    .option('--http-host <addr>', 'HTTP listen address (default 127.0.0.1)')
    .option('--http-port <port>', 'HTTP port (default 4731; "off" = no HTTP)')
    .option('--http-tls-cert <file>', 'HTTPS on the HTTP port: PEM certificate chain, read again on SIGHUP (env LAZARET_HTTP_TLS_CERT)')
    .option('--http-tls-key <file>', 'HTTPS on the HTTP port: PEM private key (env LAZARET_HTTP_TLS_KEY)')
    .option('--db <file>', 'SQLite file (default ./data/lazaret.db)')
    .option('--store <url>', 'PostgreSQL store shared by several nodes, postgres://user@host:5432/db, instead of the SQLite file (env LAZARET_STORE)')
    .option('--store-schema <name>', 'schema of the PostgreSQL store (default lazaret; env LAZARET_STORE_SCHEMA)')
    .option('--node <name>', "this node's name in a shared PostgreSQL store, unique among its nodes (default: the host name; env LAZARET_NODE)")
    .option('--admin-token <token>', 'token for admin actions from beyond loopback, at least 16 characters (env LAZARET_ADMIN_TOKEN)')
    .option('--token-file <file>', 'read the admin token from this file, so it is not seen in `ps` (env LAZARET_ADMIN_TOKEN_FILE)')
    .option('--allow-unauthenticated', 'start even though a port listens beyond loopback with no admin token (env LAZARET_ALLOW_UNAUTHENTICATED=1)')
    .option('--ssl', 'TLS on the Gearman port (needs --ssl-certificate and --ssl-key)')
    .option('--ssl-certificate <file>', 'PEM certificate (chain) of the Gearman port')
    .option('--ssl-key <file>', 'PEM private key of that certificate')
    .option('--ssl-ca-file <file>', 'PEM CA: Gearman peers must present a client certificate it signed (mutual TLS)')
    .option('--plain-port <port>', 'also serve plain-text Gearman on this port, beside the TLS one')
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
    .option('--ssl', 'TLS to the Gearman servers (implied by the options below)')
    .option('--ssl-ca-file <file>', "PEM CA that signed the servers' certificates (default: the system's)")
    .option('--ssl-certificate <file>', 'PEM client certificate, for servers started with --ssl-ca-file')
    .option('--ssl-key <file>', 'PEM key of that client certificate')
    .action(async (opts) => {
      const { runCheck } = await import('./commands/check.js');
      process.exitCode = await runCheck(opts, io);
    });

  const dlq = program.command('dlq').description('the quarantine (dead-letter queue) of a running server, through its HTTP API');
  const remote = (cmd: Command): Command =>
    cmd
      .option('--server <url>', 'server HTTP address (env LAZARET_URL, default http://127.0.0.1:4731)')
      .option('--token <token>', 'admin token, needed from beyond loopback (env LAZARET_TOKEN)')
      .option('--token-file <file>', 'read the admin token from this file, kept out of `ps` (env LAZARET_TOKEN_FILE)')
      .option('--ca-file <file>', "PEM CA that signed an https:// server's certificate (env LAZARET_CA_FILE)")
      .option('--json', 'print JSON instead of a table');
  const filters = (cmd: Command): Command =>
    cmd
      .option('-f, --function <name>', 'only jobs of this function')
      .addOption(new Option('-r, --reason <reason>', 'only this reason').choices(QUARANTINE_REASONS))
      .option('--since <time>', 'quarantined since: a duration ago (30m, 2h, 7d) or an ISO time');

  remote(filters(dlq.command('list').description('list quarantined jobs, newest first')))
    .option('--limit <n>', 'at most this many (default 1000)')
    .action(async (opts) => void (process.exitCode = await dlqList(opts, io)));
  remote(dlq.command('show <id>').description('one quarantined job: payload preview and every attempt')).action(
    async (id: string, opts) => void (process.exitCode = await dlqShow(id, opts, io)),
  );
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

  const supervise = program
    .command('supervise')
    .description('keep worker programs (any language) running, N copies each, restarted forever with backoff; reports to the server')
    .argument('[command...]', 'one program to run, after -- (e.g. -- php worker.php)')
    .option('-c, --config <file>', 'JSON file listing the programs (docs/supervisor.md)')
    .option('--copies <n>', 'copies of the one program (default 1)')
    .option('--name <name>', 'name of the one program (default: from the command)')
    .option('--server <url>', 'Lazaret HTTP address to report to (env LAZARET_URL, default http://127.0.0.1:4731)')
    .option('--token <token>', 'admin token, needed to report from beyond loopback (env LAZARET_TOKEN)')
    .option('--token-file <file>', 'read the admin token from this file, kept out of `ps` (env LAZARET_TOKEN_FILE)')
    .option('--ca-file <file>', "PEM CA that signed an https:// server's certificate (env LAZARET_CA_FILE)")
    .option('--id <id>', "this supervisor's id in reports and its state file (default HOST:PROGRAMS)")
    .option('--state-dir <dir>', 'where `supervise status` finds this supervisor (default ./data/supervise)')
    .option('--stop-grace <duration>', 'SIGTERM to SIGKILL, e.g. 10s (default 10s)')
    .option('--max-runtime <duration>', 'recycle a copy that runs longer, e.g. 30m (default: no limit)')
    .option('--kill-stuck-after <duration>', 'kill and restart a copy the server reports stuck in a timed-out job this long, or "off" (default: 1m)')
    .option('--backoff-initial <duration>', 'first restart delay ceiling (default 1s)')
    .option('--backoff-max <duration>', 'largest restart delay (default 60s)')
    .option('--stable-after <duration>', 'a copy up this long resets its backoff and ends flapping (default 10s)')
    .option('--report-interval <duration>', 'how often to report to the server (default 5s)')
    .option('--settle <duration>', 'rolling restart: how long each new copy must stay up (default 2s)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .enablePositionalOptions()
    .passThroughOptions()
    .action(async (command: string[], opts) => {
      const { runSupervise } = await import('./commands/supervise.js');
      process.exitCode = await runSupervise(command, opts, io);
    });
  supervise
    .command('status')
    .description('programs, pids, uptimes, restarts, flapping and last exits of the supervisors on this host')
    .option('--state-dir <dir>', "the supervisors' --state-dir (default ./data/supervise)")
    .option('--json', 'print JSON instead of a table')
    .action(async (opts) => {
      const { superviseStatus } = await import('./commands/supervise.js');
      process.exitCode = await superviseStatus(opts, io);
    });
  supervise
    .command('restart')
    .description('rolling restart after a deploy: replace every copy one at a time (same as SIGHUP to the supervisor)')
    .option('--state-dir <dir>', "the supervisors' --state-dir (default ./data/supervise)")
    .option('--id <id>', 'only this supervisor')
    .option('--no-wait', 'return once the restart is requested')
    .option('--timeout <seconds>', 'give up waiting after this long (default 600)')
    .action(async (opts) => {
      const { superviseRestart } = await import('./commands/supervise.js');
      process.exitCode = await superviseRestart(opts, io);
    });

  remote(
    program.command('status').description('store and nodes, then a table per function: queued by priority, running, workers, oldest job, rates, quarantined'),
  )
    .option('-w, --watch', 'redraw every 2 s until Ctrl-C')
    .action(async (opts) => void (process.exitCode = await status(opts, io)));

  remote(program.command('impact').description('tags (e.g. users) whose jobs waited too long, failed, expired or were quarantined, worst first'))
    .option('--since <time>', 'a duration back from now (30m, 6h, 2d) or an ISO time', '6h')
    .option('--waited-longer-than <duration>', 'a wait above this counts as too long', '5m')
    .option('--by <key>', 'only tags of this key, e.g. user_id')
    .option('--csv', 'print CSV instead of a table')
    .action(async (opts) => void (process.exitCode = await impact(opts, io)));

  return program;
}
