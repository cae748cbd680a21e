// `lazaret serve`: start a node and stop it gracefully on SIGTERM / SIGINT (a second signal stops at once).

import { loadConfig, type ConfigFlags } from '../../config.js';
import { startServer, type RunningServer } from '../../server.js';
import type { CliIO } from '../io.js';

export async function runServe(flags: ConfigFlags, io: CliIO): Promise<number> {
  const config = loadConfig(flags, io.env);
  let server: RunningServer | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    // Before the server is up the signal is only counted; it is acted on once startServer returns.
    if (server === null) return;
    if (signals > 1) {
      server.log.warn({ signal }, 'second signal: stopping now');
      void server.stop({ graceMs: 0 });
      return;
    }
    server.log.info({ signal, graceMs: config.shutdownGraceMs }, 'signal received: stopping gracefully');
    void server.stop();
  };
  // Taken before the server starts: the "listening" line goes out before startServer returns, and a
  // supervisor that signals as soon as it reads it would otherwise meet the default action (death).
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    server = await startServer(config);
    if (signals > 0) {
      server.log.info({ signals }, 'signal received while starting: stopping gracefully');
      void server.stop(signals > 1 ? { graceMs: 0 } : {});
    }
    await server.stopped;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  return 0;
}
