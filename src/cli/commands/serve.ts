// `lazaret serve`: start a node and stop it gracefully on SIGTERM / SIGINT (a second signal stops at once).

import { loadConfig, type ConfigFlags } from '../../config.js';
import { startServer, type RunningServer } from '../../server.js';
import type { CliIO } from '../io.js';

/** sysexits.h: a temporary failure; starting again is the cure. */
export const EX_TEMPFAIL = 75;

export async function runServe(flags: ConfigFlags, io: CliIO): Promise<number> {
  const config = loadConfig(flags, io.env);
  // Listening before the server is up: a supervisor may send SIGTERM as soon as it reads the
  // "listening" log line, and that signal must stop the server gracefully, not kill the process.
  let server: RunningServer | null = null;
  let early: NodeJS.Signals | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (server === null) {
      early ??= signal;
      return;
    }
    signals++;
    if (signals > 1) {
      server.log.warn({ signal }, 'second signal: stopping now');
      void server.stop({ graceMs: 0 });
      return;
    }
    server.log.info({ signal, graceMs: config.shutdownGraceMs }, 'signal received: stopping gracefully');
    void server.stop();
  };
  // SIGHUP: new certificates after a renewal, without a restart or a dropped connection.
  const onHup = (): void => server?.reloadTls();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHup);
  try {
    server = await startServer(config);
    if (early !== null) onSignal(early);
    await server.stopped;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('SIGHUP', onHup);
  }
  // Peers rescued this node's jobs (its lease expired): EX_TEMPFAIL, for a supervisor to start it again.
  return server.fenced === null ? 0 : EX_TEMPFAIL;
}
