// `lazaret serve`: start a node and stop it gracefully on SIGTERM / SIGINT (a second signal stops at once).

import { loadConfig, type ConfigFlags } from '../../config.js';
import { startServer } from '../../server.js';
import type { CliIO } from '../io.js';

export async function runServe(flags: ConfigFlags, io: CliIO): Promise<number> {
  const config = loadConfig(flags, io.env);
  const server = await startServer(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
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
  const onHup = (): void => server.reloadTls();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHup);
  await server.stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.off('SIGHUP', onHup);
  return 0;
}
