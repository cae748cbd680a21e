// Hash routes (#/quarantine/42): the server hands out one index.html and needs no fallback rules.

import { useEffect, useState } from 'preact/hooks';

export interface Route {
  page: string;
  /** Path segments after the page, decoded. */
  rest: string[];
  params: URLSearchParams;
}

function parseHash(hash: string): Route {
  const [path = '', q = ''] = hash.replace(/^#\/?/, '').split('?');
  const [page = '', ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: page || 'overview', rest, params: new URLSearchParams(q) };
}

export function href(page: string, rest: (string | number)[] = [], params?: Record<string, string | undefined>): string {
  const path = [page, ...rest.map((r) => encodeURIComponent(String(r)))].join('/');
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Changes the query part of the current route without adding a history entry per keystroke. */
export function replaceParams(params: Record<string, string | undefined>): void {
  const { page, rest } = parseHash(location.hash);
  history.replaceState(null, '', href(page, rest, params));
  dispatchEvent(new HashChangeEvent('hashchange'));
}
