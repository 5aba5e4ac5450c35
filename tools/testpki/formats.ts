/**
 * The client certificate and key in every other shape an administrator may bring: DER or PEM .cer
 * and .crt, a chain with the leaf in the middle, PKCS#7 bundles (.p7b, as DUO asks for them), PKCS#1
 * and encrypted keys, and a second PKCS#12 file with the older 3DES encryption.
 */
import { buildPkcs12 } from './pkcs12.js';
import { certsOnlyPkcs7 } from '../../src/certs/pkcs7.js';
import { toPem } from './pem.js';
import { derOf, pemOf, pkcs8Der, privateKeyObject, write, writeKey } from './files.js';
import type { GeneratedPki } from './issue.js';

/** Writes dir/formats/* and returns the paths by stable name. */
export function writeFormats(
  pki: GeneratedPki,
  dir: string,
  passphrase: string,
  clientPfx: string,
): Record<string, string> {
  const leaf = pki.client.cert;
  const chain = [pki.tsp.cert, pki.domain.cert];
  const bundle = [leaf, ...chain].map(derOf);
  const key = privateKeyObject(pki.client.keys);
  const at = (name: string) => `formats/${name}`;

  return {
    leafCerPem: write(dir, at('client.cer'), pemOf(leaf)),
    leafCerDer: write(dir, at('client-der.cer'), derOf(leaf)),
    leafCrtDer: write(dir, at('client-der.crt'), derOf(leaf)),
    // The leaf between its two issuers: a loader must pick it out by what it is, not by position.
    chainPem: write(dir, at('chain-leaf-in-middle.pem'), pemOf(pki.tsp.cert, leaf, pki.domain.cert)),
    p7bPem: write(dir, at('client.p7b'), toPem(certsOnlyPkcs7(bundle), 'PKCS7')),
    p7bDer: write(dir, at('client-der.p7b'), certsOnlyPkcs7(bundle)),
    keyPkcs1Pem: writeKey(dir, at('client-pkcs1.key'), key.export({ type: 'pkcs1', format: 'pem' })),
    keyPkcs8EncryptedPem: writeKey(
      dir,
      at('client-pkcs8-encrypted.key'),
      key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }),
    ),
    // The traditional OpenSSL form: "Proc-Type: 4,ENCRYPTED" and "DEK-Info" headers around PKCS#1.
    keyPkcs1EncryptedPem: writeKey(
      dir,
      at('client-pkcs1-encrypted.key'),
      key.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase }),
    ),
    pfx: clientPfx,
    pfxAlt: writeKey(
      dir,
      at('client-3des.pfx'),
      buildPkcs12({
        privateKeyPkcs8: pkcs8Der(pki.client.keys),
        certificate: derOf(leaf),
        chain: chain.map(derOf),
        passphrase,
        friendlyName: pki.client.subject.commonName,
        encryption: '3des',
      }),
    ),
  };
}
