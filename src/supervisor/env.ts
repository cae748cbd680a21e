// What supervised programs inherit from the supervisor's environment: everything but Lazaret's
// secrets. A worker speaks Gearman, which needs no token; the supervisor's own token (for reporting
// to the server's HTTP API) and the admin token must not reach every program it starts, nor their
// children, crash reports and `/proc/PID/environ`. A program that truly needs one gets it through its
// own `env` in the supervisor config, which is applied after this.

/** LAZARET_TOKEN, LAZARET_ADMIN_TOKEN, their _FILE variants, and any other LAZARET_…TOKEN. */
const SECRET = /^LAZARET_\w*TOKEN(_FILE)?$/;

export function inheritedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (!SECRET.test(key)) out[key] = value;
  return out;
}
