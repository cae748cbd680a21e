// Server addresses as users write them: `host:port`, `gearman://host:port`, `host` (port 4730), `[::1]:4730`.

import { ClientError, ClientErrorCode } from './errors.js';

export const DEFAULT_PORT = 4730;

export interface ServerAddress {
  host: string;
  port: number;
  /** `host:port`, used in messages. */
  label: string;
}

export function parseServer(text: string): ServerAddress {
  const bare = text.trim().replace(/^gearman:\/\//, '').replace(/\/$/, '');
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(bare);
  const port = m?.[3] === undefined ? DEFAULT_PORT : Number(m[3]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, `"${text}" is not a Gearman server address`, { hint: 'write host:port, e.g. 127.0.0.1:4730' });
  }
  const host = m[1] ?? m[2]!;
  return { host, port, label: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}` };
}

export function parseServers(list: string | readonly string[] | undefined): ServerAddress[] {
  const items = list === undefined ? ['127.0.0.1:4730'] : typeof list === 'string' ? list.split(',') : list;
  const out = items.filter((s) => s.trim() !== '').map(parseServer);
  if (out.length === 0) throw new ClientError(ClientErrorCode.INVALID_ARGUMENT, 'no Gearman server given', { hint: 'pass servers: ["127.0.0.1:4730"]' });
  return out;
}
