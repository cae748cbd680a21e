// A sandbox child: loads the handlers module and runs one job at a time for the parent worker, over the
// IPC channel. Whatever kills this process (a segfault, an OOM kill, process.exit, an uncaught
// exception) costs the parent one failed attempt, never its life (sandbox.ts).

import { pathToFileURL } from 'node:url';
import type { Handler, JobContext } from './context.js';
import { resultBytes } from './context.js';
import type { ChildMessage, ParentMessage } from './sandbox-messages.js';

const modulePath = process.argv[2];
if (!modulePath || !process.send) {
  process.stderr.write('lazaret sandbox child: run by the Worker through child_process.fork, with the module path as argument\n');
  process.exit(2);
}

// After the parent left, there is nobody to tell: drop the message rather than die on a closed channel.
const send = (m: ChildMessage): void => {
  if (process.connected) process.send!(m, undefined, undefined, () => undefined);
};
const mod = (await import(pathToFileURL(modulePath).href)) as Record<string, unknown>;
const handlers = handlersOf(mod);
const running = new Map<number, AbortController>();

process.on('message', (m: ParentMessage) => {
  if (m.type === 'abort') running.get(m.id)?.abort();
  else if (m.type === 'job') void run(m);
});
// The parent went away: nothing can receive a result any more.
process.on('disconnect', () => process.exit(0));
// A Ctrl-C or a SIGTERM to the whole process group is the worker's to handle: it lets the running job
// finish, then closes the channel (above), or kills the child after its grace period.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
send({ type: 'ready', functions: [...handlers.keys()] });

async function run(m: Extract<ParentMessage, { type: 'job' }>): Promise<void> {
  const controller = new AbortController();
  running.set(m.id, controller);
  const handler = handlers.get(m.fn);
  const ctx: JobContext = {
    fn: m.fn,
    handle: m.handle,
    unique: m.unique,
    payload: Buffer.from(m.payload, 'base64'),
    progress: (numerator, denominator) => send({ type: 'progress', id: m.id, numerator, denominator }),
    data: (data) => send({ type: 'data', id: m.id, data: Buffer.from(data).toString('base64') }),
    warning: (data) => send({ type: 'warning', id: m.id, data: Buffer.from(data).toString('base64') }),
    signal: controller.signal,
  };
  try {
    if (!handler) throw new Error(`the sandbox module ${modulePath} exports no handler named ${m.fn}`);
    send({ type: 'done', id: m.id, result: resultBytes(await handler(ctx)).toString('base64') });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    send({ type: 'error', id: m.id, errorClass: e.name, message: e.message });
  } finally {
    running.delete(m.id);
  }
}

/** `export default { resize }` or named function exports; the export name is the Gearman function name. */
function handlersOf(m: Record<string, unknown>): Map<string, Handler> {
  const out = new Map<string, Handler>();
  const table = typeof m.default === 'object' && m.default !== null ? (m.default as Record<string, unknown>) : {};
  for (const [name, value] of [...Object.entries(table), ...Object.entries(m)]) {
    if (name !== 'default' && typeof value === 'function') out.set(name, value as Handler);
  }
  return out;
}
