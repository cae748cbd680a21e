// Loads an API route and, with `everyMs`, keeps it fresh while the tab is visible. The last good answer
// stays on screen while the next one loads (also when the query changes), so numbers change in place
// instead of flashing.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, type ApiError, type RequestOptions } from './api.js';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | Error | null;
  loading: boolean;
  reload: () => void;
}

/** The fastest refresh the dashboard allows itself: at most every 2 s. */
export const MIN_POLL_MS = 2000;

export function useApi<T>(path: string | null, opts: { everyMs?: number; accept?: RequestOptions['accept'] } = {}): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | Error | null; loading: boolean }>({ data: null, error: null, loading: path !== null });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const accept = useRef(opts.accept);
  const everyMs = opts.everyMs === undefined ? undefined : Math.max(MIN_POLL_MS, opts.everyMs);

  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async (): Promise<void> => {
      setState((s) => ({ ...s, loading: true }));
      try {
        const data = await api<T>(path, { signal: ctl.signal, ...(accept.current ? { accept: accept.current } : {}) });
        setState({ data, error: null, loading: false });
      } catch (e) {
        if (ctl.signal.aborted) return;
        setState((s) => ({ data: s.data, error: e instanceof Error ? e : new Error(String(e)), loading: false }));
      }
      if (everyMs !== undefined && !ctl.signal.aborted) timer = setTimeout(next, everyMs);
    };
    // A hidden tab stops polling and catches up as soon as it is shown again.
    const next = (): void => {
      if (document.hidden) document.addEventListener('visibilitychange', onVisible);
      else void load();
    };
    const onVisible = (): void => {
      if (document.hidden) return;
      document.removeEventListener('visibilitychange', onVisible);
      void load();
    };
    void load();
    return () => {
      ctl.abort();
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [path, tick, everyMs]);

  return { ...state, reload };
}
