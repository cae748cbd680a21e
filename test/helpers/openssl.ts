// Certificates made at test time with the `openssl` command: a CA, and certificates it signs for
// 127.0.0.1 / localhost. EC P-256 keys, so making them takes milliseconds.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
  return { cert: `${base}.pem`, key: `${base}.key` };
}

/** A certificate for `name` signed by `ca`, valid for 127.0.0.1, ::1 and localhost (server and client use). */
export function makeCert(dir: string, ca: KeyPair, name: string): KeyPair {
  const base = join(dir, name.replace(/\W+/g, '-'));
  const ext = `${base}.ext`;
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', `${base}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', `${base}.pem`, '-days', '2', '-extfile', ext]);
  return { cert: `${base}.pem`, key: `${base}.key` };
}
