// Certificates made at test time with the `openssl` command (EC P-256 keys, so making them takes
// milliseconds): CAs and the certificates they sign for 127.0.0.1 / ::1 / localhost, and a ready set for
// the TLS tests: a CA, a server certificate, a client certificate it signed, and a client certificate
// from another CA (which a server trusting only the first must refuse).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface KeyPair {
  cert: string;
  key: string;
}

const openssl = (dir: string, args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

/** A fresh directory, removed after the test. */
export function certDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'laz-certs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function makeCa(dir: string, name = 'Lazaret Test CA'): KeyPair {
  const base = join(dir, name.replace(/\W+/g, '-'));
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { cert: `${base}.pem`, key: `${base}.key` };
}

/** A certificate for `name` signed by `ca`, valid for 127.0.0.1, ::1 and localhost (server and client use). */
export function makeCert(dir: string, ca: KeyPair, name: string): KeyPair {
  const base = join(dir, name.replace(/\W+/g, '-'));
  const ext = `${base}.ext`;
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(dir, [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    `${base}.pem`,
    '-days',
    '2',
    '-extfile',
    ext,
  ]);
  return { cert: `${base}.pem`, key: `${base}.key` };
}

export interface TestCerts {
  dir: string;
  /** Files, for the server's flags and for clients that take paths (Perl, openssl s_client). */
  files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string; rogueCert: string; rogueKey: string };
  /** The same, read, for clients that take PEM contents (lazaret/client). */
  pem: { ca: string; clientCert: string; clientKey: string; rogueCert: string; rogueKey: string };
  cleanup(): Promise<void>;
}

export async function makeCerts(): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'lazaret-tls-'));
  const ca = makeCa(dir, 'ca');
  const server = makeCert(dir, ca, 'server');
  const client = makeCert(dir, ca, 'client');
  const rogue = makeCert(dir, makeCa(dir, 'rogue-ca'), 'rogue');
  const files = {
    ca: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    clientCert: client.cert,
    clientKey: client.key,
    rogueCert: rogue.cert,
    rogueKey: rogue.key,
  };
  const read = (p: string): string => readFileSync(p, 'utf8');
  const pem = {
    ca: read(files.ca),
    clientCert: read(files.clientCert),
    clientKey: read(files.clientKey),
    rogueCert: read(files.rogueCert),
    rogueKey: read(files.rogueKey),
  };
  return { dir, files, pem, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}
