/**
 * What Node's X509Certificate does not tell us (or tells differently per Node version): the name
 * attributes one by one (the OIN is the subject serialNumber), the signature algorithm with its PSS
 * hash, the extended key usages, the CA flag and the dates as Dates. @peculiar/x509 reads them from
 * the certificate's own DER bytes, so the answer is the same on Node 20 and Node 24; Node's object
 * stays the certificate itself (its exact bytes for thumbprints and DUO, its OpenSSL for signatures).
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { x509 } from './peculiar.js';

export const OID = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  organization: '2.5.4.10',
  organizationIdentifier: '2.5.4.97',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/**
 * Our labels, not the library's: it prints the OIN's type as "2.5.4.5" and e-mail as "E", and the
 * subject strings in reports and logs have always said "serialNumber=" and "emailAddress=".
 */
const ATTRIBUTE_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.17': 'postalCode',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
};
const LABEL_OIDS: Record<string, string> = Object.fromEntries(Object.entries(ATTRIBUTE_LABELS).map(([id, label]) => [label, id]));

/** Algorithms the library reports only by OID (it cannot verify with them); named as OpenSSL does. */
const OTHER_SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.10045.4.3.1': 'ecdsa-with-SHA224',
  '1.3.101.113': 'Ed448',
};
const MD5_WITH_RSA = '1.2.840.113549.1.1.4';

export interface NameAttribute {
  oid: string;
  /** Short label (CN, O, serialNumber…) or the dotted OID when unknown. */
  label: string;
  value: string;
}

export interface CertFields {
  subject: NameAttribute[];
  issuer: NameAttribute[];
  notBefore: Date;
  notAfter: Date;
  signatureAlgorithm: string;
  /** True for MD5 and SHA-1 based signatures. */
  weakSignature: boolean;
  /** Extended key usage OIDs; undefined when the certificate has no such extension. */
  extKeyUsage?: string[];
  /** basicConstraints cA. */
  isCa: boolean;
  /** keyUsage keyCertSign; undefined when the certificate has no keyUsage extension. */
  keyCertSign?: boolean;
}

/**
 * Remembered by the certificate's SHA-256 thumbprint, not by the object: every TLS handshake and every
 * signed response hands over new X509Certificate objects for the same few certificates (ROD's leaf, its
 * intermediates, the anchors already read at start), and reading one with the library is milliseconds
 * of cold code a cycle. The same bytes always give the same fields. Bounded, oldest out first: a
 * daemon meets a handful of certificates in its life, not an unbounded stream.
 */
const cache = new Map<string, CertFields>();
const CACHE_LIMIT = 256;

export function certFields(cert: X509Certificate): CertFields {
  const thumbprint = cert.fingerprint256;
  let fields = cache.get(thumbprint);
  if (!fields) {
    // Frozen: one object is now shared by every caller that reads this certificate.
    fields = Object.freeze(parseFields(new x509.X509Certificate(cert.raw)));
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(thumbprint, fields);
  }
  return fields;
}

/** In certificate order. A multi-valued RDN comes out grouped by type (the library's JSON form). */
function attributes(name: x509.Name): NameAttribute[] {
  const labelled = new x509.Name(name.toArrayBuffer(), LABEL_OIDS);
  return labelled.toJSON().flatMap((rdn) =>
    Object.entries(rdn).flatMap(([label, values]) => values.map((value) => ({ oid: LABEL_OIDS[label] ?? label, label, value }))),
  );
}

interface WebSignatureAlgorithm {
  name: string;
  hash?: { name: string };
}

/** OpenSSL's names ('sha256WithRSAEncryption') and ours for PSS ('RSASSA-PSS (SHA-512)'). */
function signatureAlgorithmName(alg: WebSignatureAlgorithm): string {
  // RFC 4055: PSS without parameters hashes with SHA-1.
  const hash = alg.hash?.name ?? 'SHA-1';
  switch (alg.name) {
    case 'RSA-PSS':
      return `RSASSA-PSS (${hash})`;
    case 'RSASSA-PKCS1-v1_5':
      return `${hash.replace('-', '').toLowerCase()}WithRSAEncryption`;
    case 'ECDSA':
      return `ecdsa-with-${hash.replace('-', '')}`;
    default:
      return OTHER_SIGNATURE_ALGORITHMS[alg.name] ?? alg.name;
  }
}

function parseFields(cert: x509.X509Certificate): CertFields {
  const alg = cert.signatureAlgorithm as WebSignatureAlgorithm;
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
  const fields: CertFields = {
    subject: attributes(cert.subjectName),
    issuer: attributes(cert.issuerName),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    signatureAlgorithm: signatureAlgorithmName(alg),
    // As before the switch to the library: PSS is not judged by its hash (no TSP issues PSS with SHA-1).
    weakSignature: alg.name === MD5_WITH_RSA || (alg.hash?.name === 'SHA-1' && alg.name !== 'RSA-PSS'),
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
  };
  if (eku) fields.extKeyUsage = eku.usages.map(String);
  if (keyUsage) fields.keyCertSign = (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) !== 0;
  return fields;
}

export function attribute(attrs: NameAttribute[], id: string): string | undefined {
  return attrs.find((a) => a.oid === id)?.value;
}

/** A distinguished name as people read it: most specific first, "CN=…, O=…, C=NL". */
export function formatName(attrs: NameAttribute[]): string {
  return [...attrs]
    .reverse()
    .map((a) => `${a.label}=${a.value.replace(/([,+"\\<>;])/g, '\\$1')}`)
    .join(', ');
}

/** How a certificate is named in messages: its CN, else its whole subject. */
export function commonName(cert: X509Certificate): string {
  const f = certFields(cert);
  return attribute(f.subject, OID.commonName) ?? formatName(f.subject);
}

export function issuerCommonName(cert: X509Certificate): string {
  const f = certFields(cert);
  return attribute(f.issuer, OID.commonName) ?? formatName(f.issuer);
}

export function sha256Hex(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

const CURVE_NAMES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

export interface PublicKeyInfo {
  /** 'RSA 3072', 'EC P-256', 'Ed25519'. */
  description: string;
  type: 'rsa' | 'ec' | 'other';
  bits?: number;
  curve?: string;
}

export function publicKeyInfo(cert: X509Certificate): PublicKeyInfo {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return { description: `RSA ${details.modulusLength ?? '?'}`, type: 'rsa', bits: details.modulusLength };
    case 'ec': {
      const curve = CURVE_NAMES[details.namedCurve ?? ''] ?? details.namedCurve ?? 'unknown curve';
      return { description: `EC ${curve}`, type: 'ec', curve };
    }
    default:
      return { description: key.asymmetricKeyType === 'ed25519' ? 'Ed25519' : String(key.asymmetricKeyType), type: 'other' };
  }
}

/** Same certificate, byte for byte. */
export function sameCertificate(a: X509Certificate, b: X509Certificate): boolean {
  return a.raw.equals(b.raw);
}

/** Self-issued and self-signed: the top of a hierarchy. */
export function isSelfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}
