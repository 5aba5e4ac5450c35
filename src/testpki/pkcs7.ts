/**
 * A certs-only PKCS#7 bundle (the .p7b that DUO accepts when a municipality registers its certificate):
 * SignedData with certificates and no signers. Each certificate is embedded byte for byte.
 */
import { explicit, integer, oid, sequence, set, tlv } from './der.js';
import { toPem } from './pem.js';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_DATA = '1.2.840.113549.1.7.1';

export function certsOnlyPkcs7(certificates: Uint8Array[]): Buffer {
  const signedData = sequence(
    integer(1),
    set(), // digestAlgorithms: none, nothing is signed
    sequence(oid(OID_DATA)), // encapContentInfo without content
    tlv(0xa0, ...certificates), // certificates [0] IMPLICIT SET OF Certificate
    set(), // signerInfos: none
  );
  return sequence(oid(OID_SIGNED_DATA), explicit(0, signedData));
}

/** PEM as `openssl crl2pkcs7` and most tools write it. */
export function certsOnlyPkcs7Pem(certificates: Uint8Array[]): string {
  return toPem(certsOnlyPkcs7(certificates), 'PKCS7');
}
