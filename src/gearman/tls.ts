// TLS for the Gearman port: the server's certificate and key, and with a CA file, client certificates
// that must be signed by it (mutual TLS, which is then the port's authentication: the Gearman protocol
// has none of its own).

import { readFileSync } from 'node:fs';
import { createSecureContext, type TlsOptions } from 'node:tls';
import type { Config } from '../config.js';
import { ErrorCode, LazaretError } from '../errors.js';

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `Cannot read the ${what} ${file}: ${(err as Error).message}`, {
      hint: 'check the path and that the server may read it (--ssl-certificate, --ssl-key, --ssl-ca-file)',
    });
  }
}

/** tls.createServer options from the config, or null when the Gearman port is plain text. */
export function gearmanTlsOptions(config: Readonly<Config>): TlsOptions | null {
  if (!config.ssl || config.sslCertificate === null || config.sslKey === null) return null;
  const ca = config.sslCaFile === null ? undefined : readPem(config.sslCaFile, 'CA file');
  const { identifyTimeoutMs, frameTimeoutMs } = config.limits;
  const cert = readPem(config.sslCertificate, 'certificate');
  const key = readPem(config.sslKey, 'private key');
  try {
    createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new LazaretError(ErrorCode.CONFIG_INVALID, `The Gearman TLS certificate, key or CA file cannot be used: ${(err as Error).message}`, {
      hint: "the files are PEM; the key must be the certificate's own",
    });
  }
  return {
    cert,
    key,
    ca,
    requestCert: ca !== undefined,
    rejectUnauthorized: ca !== undefined,
    minVersion: 'TLSv1.2',
    // A handshake is bounded like a connection that never says who it is.
    handshakeTimeout: identifyTimeoutMs || frameTimeoutMs || 120_000,
  };
}
