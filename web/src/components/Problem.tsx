// What a page shows when a request failed: "not available" for routes this server lacks, else the error.

import { ApiError } from '../api.js';

/** `gone`: what a Lazaret 404 means here (an id that is not there). */
export function Problem({ error, what, gone }: { error: Error | null; what: string; gone?: string }) {
  if (!error) return null;
  if (error instanceof ApiError && error.status === 404 && !error.routeMissing && gone) {
    return (
      <p class="notice" role="status">
        {gone}
      </p>
    );
  }
  if (error instanceof ApiError && error.routeMissing) {
    return (
      <p class="notice" role="status" data-testid="not-available" title={error.message}>
        {what}: not available on this server.
      </p>
    );
  }
  const hint = error instanceof ApiError ? error.hint : null;
  return (
    <p class="notice error" role="alert">
      Could not load {what.toLowerCase()}: {error.message}
      {hint ? <span class="hint"> — {hint}</span> : null}
    </p>
  );
}
