/**
 * Certs-only PKCS#7 (the .p7b "certificate chain" file): reading the certificates out of one and
 * writing one for DUO. Certificates are carried as their original bytes, in both directions.
 */
import { DerError, TAG, children, encode, encodeOid, encodeSequence, encodeSmallInteger, expectTag, oid, readTlv, type Tlv } from './der.js';

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_DATA = '1.2.840.113549.1.7.1';

/** True when the bytes look like a PKCS#7/CMS ContentInfo holding SignedData. */
export function isPkcs7(der: Buffer): boolean {
  try {
    const [type] = children(readTlv(der, 0));
    return type?.tag === TAG.OID && oid(type) === OID_SIGNED_DATA;
  } catch {
    return false;
  }
}

/** The DER of every certificate in a SignedData, in file order. CRLs and signatures are ignored. */
export function certificatesFromPkcs7(der: Buffer): Buffer[] {
  const contentInfo = expectTag(readTlv(der, 0), TAG.SEQUENCE, 'PKCS#7 ContentInfo');
  const [type, explicit] = children(contentInfo);
  if (!type || type.tag !== TAG.OID || oid(type) !== OID_SIGNED_DATA) {
    throw new DerError('not a PKCS#7 SignedData structure');
  }
  if (!explicit || explicit.tag !== 0xa0) throw new DerError('PKCS#7 SignedData without content');
  const [signedData] = children(explicit);
  const parts = children(expectTag(signedData, TAG.SEQUENCE, 'PKCS#7 SignedData'));
  // version, digestAlgorithms, encapContentInfo, then [0] IMPLICIT certificates (optional).
  const certificates: Tlv | undefined = parts.slice(3).find((p) => p.tag === 0xa0);
  if (!certificates) return [];
  // CertificateChoices other than a plain Certificate (attribute certificates etc.) carry other tags.
  return children(certificates)
    .filter((c) => c.tag === TAG.SEQUENCE)
    .map((c) => Buffer.from(c.bytes));
}

/** A degenerate ("certs-only") SignedData, DER, as `openssl crl2pkcs7 -nocrl` writes it. */
export function certsOnlyPkcs7(certificates: Uint8Array[]): Buffer {
  const signedData = encode(TAG.SEQUENCE, [
    encodeSmallInteger(1),
    encode(TAG.SET, []), // digestAlgorithms
    encodeSequence(encodeOid(OID_DATA)), // encapContentInfo without content
    encode(0xa0, certificates), // [0] IMPLICIT SET OF Certificate
    encode(0xa1, []), // [1] IMPLICIT crls, empty
    encode(TAG.SET, []), // signerInfos
  ]);
  return encode(TAG.SEQUENCE, [encodeOid(OID_SIGNED_DATA), encode(0xa0, [signedData])]);
}
