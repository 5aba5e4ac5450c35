/**
 * What Node's X509Certificate does not tell us (or tells differently per Node version): the name
 * attributes one by one (the OIN is the subject serialNumber), the signature algorithm with its PSS
 * hash, the extended key usages, the CA flag and the dates as Dates. Read from the certificate's own
 * DER bytes, so the answer is the same on Node 20 and Node 24.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { TAG, children, expectTag, octets, oid, readSingle, text, time, type Tlv } from './der.js';

export const OID = {
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
  country: '2.5.4.6',
  organization: '2.5.4.10',
  organizationIdentifier: '2.5.4.97',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  rsassaPss: '1.2.840.113549.1.1.10',
} as const;

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
  '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
};

const HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'SHA-1',
  '2.16.840.1.101.3.4.2.4': 'SHA-224',
  '2.16.840.1.101.3.4.2.1': 'SHA-256',
  '2.16.840.1.101.3.4.2.2': 'SHA-384',
  '2.16.840.1.101.3.4.2.3': 'SHA-512',
};

const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.14': 'sha224WithRSAEncryption',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

/** Signature algorithms whose hash no longer protects a certificate. */
const WEAK_SIGNATURE_OIDS = new Set(['1.2.840.113549.1.1.4', '1.2.840.113549.1.1.5', '1.2.840.10045.4.1']);

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

const cache = new WeakMap<X509Certificate, CertFields>();

export function certFields(cert: X509Certificate): CertFields {
  let fields = cache.get(cert);
  if (!fields) {
    fields = parseFields(cert.raw);
    cache.set(cert, fields);
  }
  return fields;
}

function parseName(tlv: Tlv): NameAttribute[] {
  const out: NameAttribute[] = [];
  for (const rdn of children(expectTag(tlv, TAG.SEQUENCE, 'Name'))) {
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      const id = oid(expectTag(type, TAG.OID, 'attribute type'));
      out.push({ oid: id, label: ATTRIBUTE_LABELS[id] ?? id, value: value ? text(value) : '' });
    }
  }
  return out;
}

function algorithmName(algorithm: Tlv): string {
  const [idTlv, params] = children(algorithm);
  const id = oid(expectTag(idTlv, TAG.OID, 'algorithm'));
  if (id === OID.rsassaPss) {
    // RSASSA-PSS-params: [0] hashAlgorithm (default SHA-1), [1] maskGen, [2] saltLength, [3] trailer.
    let hash = 'SHA-1';
    if (params && params.tag === TAG.SEQUENCE) {
      for (const p of children(params)) {
        if (p.tag === 0xa0) {
          const [alg] = children(p);
          const [h] = alg ? children(alg) : [];
          if (h) hash = HASHES[oid(h)] ?? oid(h);
        }
      }
    }
    return `RSASSA-PSS (${hash})`;
  }
  return SIGNATURE_ALGORITHMS[id] ?? id;
}

function parseFields(raw: Buffer): CertFields {
  const cert = expectTag(readSingle(raw), TAG.SEQUENCE, 'Certificate');
  const [tbsTlv, sigAlg] = children(cert);
  const tbs = children(expectTag(tbsTlv, TAG.SEQUENCE, 'TBSCertificate'));
  let i = tbs[0]?.tag === 0xa0 ? 1 : 0; // explicit version
  i++; // serialNumber
  i++; // signature (inner copy of the algorithm)
  const issuer = parseName(tbs[i++]!);
  const [nb, na] = children(expectTag(tbs[i++], TAG.SEQUENCE, 'Validity'));
  const subject = parseName(tbs[i++]!);
  i++; // subjectPublicKeyInfo
  const fields: CertFields = {
    subject,
    issuer,
    notBefore: time(nb!),
    notAfter: time(na!),
    signatureAlgorithm: algorithmName(expectTag(sigAlg, TAG.SEQUENCE, 'signatureAlgorithm')),
    weakSignature: WEAK_SIGNATURE_OIDS.has(oid(children(sigAlg!)[0]!)),
    isCa: false,
  };
  const extensionsTlv = tbs.slice(i).find((t) => t.tag === 0xa3);
  if (extensionsTlv) {
    const [list] = children(extensionsTlv);
    for (const ext of children(expectTag(list, TAG.SEQUENCE, 'Extensions'))) {
      const parts = children(ext);
      const id = oid(parts[0]!);
      const value = readSingle(octets(parts[parts.length - 1]!));
      if (id === OID.basicConstraints) {
        const first = children(value)[0];
        fields.isCa = first !== undefined && first.tag === 0x01 && first.content[0] !== 0;
      } else if (id === OID.extKeyUsage) {
        fields.extKeyUsage = children(value).map(oid);
      } else if (id === OID.keyUsage) {
        // BIT STRING: first octet counts unused bits; keyCertSign is bit 5 of the first data octet.
        fields.keyCertSign = ((value.content[1] ?? 0) & 0x04) !== 0;
      }
    }
  }
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
