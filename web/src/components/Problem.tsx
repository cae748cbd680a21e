// What a page shows when a request failed: "not available" for routes this server lacks, else the error.

import { ApiError, askToken } from '../api.js';

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
  const needsToken = error instanceof ApiError && error.status === 401;
  return (
    <p class="notice error" role="alert">
      Could not load {what.toLowerCase()}: {error.message}
      {hint ? <span class="hint"> — {hint}</span> : null}
      {needsToken ? (
        <>
          {' '}
          <button type="button" onClick={() => void askToken(error.message, true).then((t) => t !== null && location.reload())}>
            Enter the admin token
          </button>
        </>
      ) : null}
    </p>
  );
}
