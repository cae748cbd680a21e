// Certificates for TLS tests, made with the `openssl` command in a temporary folder: a CA, a server
// certificate for 127.0.0.1 / localhost, a client certificate signed by the CA, and a client
// certificate from another CA (which a server trusting only the first must refuse).

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCerts {
  dir: string;
  /** Files, for the server's flags and for clients that take paths (Perl, openssl s_client). */
  files: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string; rogueCert: string; rogueKey: string };
  /** The same, read, for clients that take PEM contents (lazaret/client). */
  pem: { ca: string; clientCert: string; clientKey: string; rogueCert: string; rogueKey: string };
  cleanup(): Promise<void>;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A self-signed CA: key and certificate. */
async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

/** A leaf certificate signed by a CA. */
async function makeLeaf(dir: string, name: string, ca: string, ext: string): Promise<void> {
  await openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  await writeFile(join(dir, `${name}.ext`), `${ext}\n`);
  await openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
}

export async function makeCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'lazaret-tls-'));
  await Promise.all([makeCa(dir, 'ca'), makeCa(dir, 'rogue-ca')]);
  await Promise.all([
    makeLeaf(dir, 'server', 'ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'),
    makeLeaf(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth'),
    makeLeaf(dir, 'rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth'),
  ]);
  const f = (n: string): string => join(dir, n);
  const files = { ca: f('ca.pem'), serverCert: f('server.pem'), serverKey: f('server.key'), clientCert: f('client.pem'), clientKey: f('client.key'), rogueCert: f('rogue.pem'), rogueKey: f('rogue.key') };
  const read = (p: string): Promise<string> => readFile(p, 'utf8');
  const pem = { ca: await read(files.ca), clientCert: await read(files.clientCert), clientKey: await read(files.clientKey), rogueCert: await read(files.rogueCert), rogueKey: await read(files.rogueKey) };
  return { dir, files, pem, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
