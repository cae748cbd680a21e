// One try at delivering one alert. Redirects are not followed: the signed body would go wherever the
// Location points, so a 3xx is a failed delivery like a 5xx.

import { VERSION } from '../../version.js';
import { signature } from './signature.js';

export interface PostRequest {
  url: string;
  secret: string | null;
  event: string;
  delivery: string;
  body: string;
  /** Signed as the request's time. */
  now: number;
  timeoutMs: number;
  signal: AbortSignal;
}

/** null when the receiver answered 2xx, else why not. */
export async function postAlert(r: PostRequest): Promise<string | null> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `lazaret/${VERSION}`,
    'x-lazaret-event': r.event,
    'x-lazaret-delivery': r.delivery,
  };
  if (r.secret !== null) headers['x-lazaret-signature'] = signature(r.secret, r.body, Math.floor(r.now / 1000));
  try {
    const res = await fetch(r.url, {
      method: 'POST',
      headers,
      body: r.body,
      redirect: 'manual',
      signal: AbortSignal.any([r.signal, AbortSignal.timeout(r.timeoutMs)]),
    });
    await res.body?.cancel();
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      return `HTTP ${res.status} redirect${location === null ? '' : ` to ${redactUrl(location, r.url)}`} not followed: configure the final URL`;
    }
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (err as Error).message;
  }
}

/** A URL as logged: without credentials or query, which may hold a token. */
export function redactUrl(href: string, base?: string): string {
  try {
    const url = new URL(href, base);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}
