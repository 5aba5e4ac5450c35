/**
 * Issuing one certificate: a CA (root or intermediate) or a TLS leaf as PKIoverheid issues them for
 * system-to-system connections (Digikoppeling): serverAuth and clientAuth in one certificate, the OIN
 * in the subject serialNumber.
 */
import { randomBytes, type webcrypto as WebCrypto } from 'node:crypto';
import { x509, webcrypto } from './x509.js';
import { keyAlgorithmFor, type StyleProfile } from './profiles.js';

type CryptoKey = WebCrypto.CryptoKey;
export type KeyPair = WebCrypto.CryptoKeyPair;

/** A CA that can sign: its certificate and its key pair (the private key made for `style`'s algorithm). */
export interface Issuer {
  cert: x509.X509Certificate;
  keys: KeyPair;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

const OID_ORGANIZATION_IDENTIFIER = '2.5.4.97';
const OID_SERIAL_NUMBER = '2.5.4.5';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export async function generateKeyPair(profile: StyleProfile, bits: number): Promise<KeyPair> {
  // Extractable, because the keys are written to files; RSA key generation runs on libuv's thread
  // pool, so callers start several at once.
  return webcrypto.subtle.generateKey(keyAlgorithmFor(profile, bits), true, ['sign', 'verify']);
}

/** A random positive 128-bit serial number, as hex (the first byte kept below 0x80 and above 0). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** Strings as real PKIoverheid certificates encode them: C and serialNumber printable, the rest UTF-8. */
function caName(organization: string, commonName: string): x509.Name {
  return new x509.Name([
    { C: [{ printableString: 'NL' }] },
    { O: [{ utf8String: organization }] },
    { CN: [{ utf8String: commonName }] },
  ]);
}

export interface LeafSubject {
  organization: string;
  commonName: string;
  /** "NTRNL-" + KvK number. */
  organizationIdentifier: string;
  /** The OIN, 20 digits. */
  oin: string;
}

function leafName(subject: LeafSubject): x509.Name {
  return new x509.Name([
    { C: [{ printableString: 'NL' }] },
    { O: [{ utf8String: subject.organization }] },
    { [OID_ORGANIZATION_IDENTIFIER]: [{ utf8String: subject.organizationIdentifier }] },
    { [OID_SERIAL_NUMBER]: [{ printableString: subject.oin }] },
    { CN: [{ utf8String: subject.commonName }] },
  ]);
}

async function caExtensions(publicKey: CryptoKey, pathLength: number | undefined, issuerKey: CryptoKey) {
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(issuerKey),
  ];
}

export async function createRoot(
  profile: StyleProfile,
  name: { organization: string; commonName: string },
  keys: KeyPair,
  validity: Validity,
): Promise<Issuer> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: caName(name.organization, name.commonName),
    issuer: caName(name.organization, name.commonName),
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: profile.signature.signingAlgorithm,
    // Like the real roots: no path length limit.
    extensions: await caExtensions(keys.publicKey, undefined, keys.publicKey),
  });
  return { cert, keys };
}

export async function issueCa(
  profile: StyleProfile,
  issuer: Issuer,
  name: { organization: string; commonName: string },
  keys: KeyPair,
  pathLength: number,
  validity: Validity,
): Promise<Issuer> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: caName(name.organization, name.commonName),
    issuer: issuer.cert.subjectName,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: profile.signature.signingAlgorithm,
    extensions: await caExtensions(keys.publicKey, pathLength, issuer.keys.publicKey),
  });
  return { cert, keys };
}

export interface LeafOptions {
  subject: LeafSubject;
  dnsNames: string[];
  validity: Validity;
  /** Default both: PKIoverheid G-TLS certificates carry serverAuth and clientAuth. */
  extendedKeyUsages?: Array<'serverAuth' | 'clientAuth'>;
}

export async function issueLeaf(
  profile: StyleProfile,
  issuer: Issuer,
  publicKey: CryptoKey,
  options: LeafOptions,
): Promise<x509.X509Certificate> {
  return issueLeafNamed(profile, issuer, publicKey, { ...options, name: leafName(options.subject) });
}

/** issueLeaf with the subject as a ready Name: a TSP issuing on a CSR keeps the CSR's subject as it is. */
export async function issueLeafNamed(
  profile: StyleProfile,
  issuer: Issuer,
  publicKey: CryptoKey,
  options: Omit<LeafOptions, 'subject'> & { name: x509.Name },
): Promise<x509.X509Certificate> {
  const usages = options.extendedKeyUsages ?? ['serverAuth', 'clientAuth'];
  return x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: options.name,
    issuer: issuer.cert.subjectName,
    notBefore: options.validity.notBefore,
    notAfter: options.validity.notAfter,
    publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: profile.signature.signingAlgorithm,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(
        usages.map((usage) => (usage === 'serverAuth' ? OID_SERVER_AUTH : OID_CLIENT_AUTH)),
        false,
      ),
      // DNS names only: the G4 profiles forbid IP addresses in the SAN.
      new x509.SubjectAlternativeNameExtension(
        options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  });
}

/** What the generator made, in memory, for the files and variants to be written from. */
export interface GeneratedPki {
  profile: StyleProfile;
  now: Date;
  root: Issuer;
  domain: Issuer;
  tsp: Issuer;
  client: { cert: x509.X509Certificate; keys: KeyPair; subject: LeafSubject; dnsNames: string[] };
  server: { cert: x509.X509Certificate; keys: KeyPair };
}
