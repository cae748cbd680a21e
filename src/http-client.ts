// A small HTTP(S) request for the CLI and the supervisor's reporter. Built on node:http(s) rather than
// fetch because fetch offers no way to trust a private CA (--ca-file) without another dependency.

import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { ErrorCode, LazaretError } from './errors.js';

export interface HttpRequestOptions {
  method: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** PEM certificates trusted for https:// besides the system's. */
  ca?: string;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  ok: boolean;
  text: string;
}

/** Reads a PEM CA bundle named by --ca-file / LAZARET_CA_FILE. */
export function readCaFile(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `Cannot read the CA file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'give a PEM file with the certificate of the authority that signed the server certificate',
    });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new LazaretError(ErrorCode.CONFIG_INVALID, `The CA file ${path} holds no PEM certificate`);
  return pem;
}

export function request(url: string, opts: HttpRequestOptions): Promise<HttpResponse> {
  const target = new URL(url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') return Promise.reject(new Error(`not an http:// or https:// URL: ${url}`));
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, { method: opts.method, headers, ...(target.protocol === 'https:' && opts.ca !== undefined ? { ca: opts.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ status, ok: status >= 200 && status < 300, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    if (opts.timeoutMs !== undefined) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
