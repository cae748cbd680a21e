// The sandboxed worker's handlers module for bench/worker-lib.ts: a no-op job.

export function bench_wl_sandbox(): string {
  return '';
}
