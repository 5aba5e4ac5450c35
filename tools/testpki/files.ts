/** Turning generated certificates and keys into files. */
import { KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { certificatePem } from './pem.js';
import type { KeyPair } from './issue.js';
import type { x509 } from './x509.js';

export function derOf(cert: x509.X509Certificate): Uint8Array {
  return new Uint8Array(cert.rawData);
}

export function pemOf(...certs: x509.X509Certificate[]): string {
  return certs.map((cert) => certificatePem(derOf(cert))).join('');
}

export function privateKeyObject(keys: KeyPair): KeyObject {
  return KeyObject.from(keys.privateKey);
}

export function pkcs8Der(keys: KeyPair): Buffer {
  return privateKeyObject(keys).export({ type: 'pkcs8', format: 'der' });
}

export function pkcs8Pem(keys: KeyPair): string {
  return privateKeyObject(keys).export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Writes `dir/name` (creating folders in `name`) and returns the path. */
export function write(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  return path;
}

/** As write(), readable by the owner only: test keys, but still keys, handled as real ones should be. */
export function writeKey(dir: string, name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600); // mode above only applies when the file is new
  return path;
}
