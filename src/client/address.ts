// Server addresses as users write them: `host:port`, `gearman://host:port`, `host` (port 4730), `[::1]:4730`,
// or `{ address, tls }` for a server that speaks TLS.

import { ClientError, ClientErrorCode } from './errors.js';

export const DEFAULT_PORT = 4730;

/** TLS to one server: PEM contents as Node's tls.connect takes them. */
export interface TlsOptions {
  /** CA certificate(s) that signed the server's certificate; default: the system's. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Client certificate and key, for a server that asks for one (mutual TLS). */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name the certificate must carry; default the host (an IP address is checked as one). */
  servername?: string;
}

/** A server: `host:port`, or an object with TLS options (`tls: true` = TLS with the default options). */
export type ServerSpec = string | { address: string; tls?: TlsOptions | boolean };

export interface ServerAddress {
  host: string;
  port: number;
  /** `host:port`, used in messages. */
  label: string;
  /** null = plain text. */
  tls: TlsOptions | null;
}

export function parseServer(text: string, tls: TlsOptions | null = null): ServerAddress {
  const bare = text
    .trim()
    .replace(/^gearman:\/\//, '')
    .replace(/\/$/, '');
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(bare);
  const port = m?.[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `"${text}" is not a Gearman server address`, { hint: 'write host:port, e.g. 127.0.0.1:4730' });
  }
  const host = m[1] ?? m[2]!;
  return { host, port, label: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`, tls };
}

/** `tls` applies to servers given as strings; an object's own `tls` wins (false = plain text). */
export function parseServers(list: string | readonly ServerSpec[] | undefined, tls: TlsOptions | boolean = false): ServerAddress[] {
  const items = list === undefined ? ['127.0.0.1:4730'] : typeof list === 'string' ? list.split(',') : list;
  const tlsOf = (t: TlsOptions | boolean | undefined): TlsOptions | null => (t === undefined ? tlsOf(tls) : t === false ? null : t === true ? {} : t);
  const out = items
    .filter((s) => typeof s !== 'string' || s.trim() !== '')
    .map((s) => (typeof s === 'string' ? parseServer(s, tlsOf(undefined)) : parseServer(s.address, tlsOf(s.tls))));
  if (out.length === 0) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'no Gearman server given', { hint: 'pass servers: ["127.0.0.1:4730"]' });
  return out;
}
