/**
 * The certificate request for a renewal (`verzuim-relay cert request`): a new RSA key and a PKCS#10
 * CSR with the subject a TSP needs for a PKIoverheid G4 Private G-TLS certificate: C=NL, O, CN,
 * organizationIdentifier "NTRNL-" + the KvK number, and serialNumber = the OIN (Digikoppeling
 * identifies the organisation by it; the relay checks it in every certificate it is given).
 *
 * The CSR is read back and checked before anything is written (it parses, its signature verifies,
 * the subject is as asked, the key has the size asked for): a CSR the TSP refuses costs days.
 * @peculiar/x509 builds and verifies it on Node's own WebCrypto, passed explicitly so that nothing
 * global is set.
 */
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { x509 } from './peculiar.js';
import { OID } from './x509-fields.js';

export interface CsrSubject {
  /** O, e.g. "Gemeente Utrecht". */
  organisation: string;
  /** CN, e.g. the relay's host name. */
  commonName: string;
  /** The KvK number, 8 digits; written as organizationIdentifier "NTRNL-<kvk>". */
  kvk: string;
  /** The OIN, 20 digits; written as serialNumber. */
  oin: string;
}

export interface CsrRequest extends CsrSubject {
  /** 3072 (what G4 uses) or 4096. */
  bits: 3072 | 4096;
  /** Encrypts the key file (PKCS#8, AES-256-CBC) when given. */
  passphrase?: string;
}

export interface GeneratedCsr {
  /** PKCS#8 PEM; encrypted when a passphrase was given. */
  keyPem: string;
  csrPem: string;
  /** The subject as written, for the text the administrator reads. */
  subject: string;
}

/** What is wrong with the subject fields; empty when they are fine. */
export function subjectProblems(subject: CsrSubject): string[] {
  const problems: string[] = [];
  if (!/^[0-9]{8}$/.test(subject.kvk)) problems.push(`--kvk expects the KvK number, 8 digits, got "${subject.kvk}"`);
  if (!/^[0-9]{20}$/.test(subject.oin)) problems.push(`the OIN (municipality.oin) must be 20 digits, got "${subject.oin}"`);
  if (subject.organisation.trim() === '' || subject.organisation.length > 64) problems.push('--organisation must be 1 to 64 characters');
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$/.test(subject.commonName)) {
    problems.push(`--cn expects a name such as verzuim-relay.utrecht.nl (letters, digits, dots and hyphens, at most 64), got "${subject.commonName}"`);
  }
  return problems;
}

const SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** Node's WebCrypto, in the type @peculiar/x509 declares (the DOM's Crypto). */
const provider = webcrypto as unknown as NonNullable<Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[1]>;

export async function createCsr(request: CsrRequest): Promise<GeneratedCsr> {
  const problems = subjectProblems(request);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const keys = await webcrypto.subtle.generateKey(
    { ...SIGNING, modulusLength: request.bits, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['sign', 'verify'],
  );
  const name = new x509.Name([
    { C: [{ printableString: 'NL' }] },
    { O: [{ utf8String: request.organisation }] },
    { [OID.organizationIdentifier]: [{ utf8String: `NTRNL-${request.kvk}` }] },
    { [OID.serialNumber]: [{ printableString: request.oin }] },
    { CN: [{ utf8String: request.commonName }] },
  ]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys: keys as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'], signingAlgorithm: SIGNING }, provider);
  const csrPem = csr.toString('pem');
  await checkCsr(csrPem, request);

  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const keyPem = request.passphrase
    ? key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: request.passphrase }).toString()
    : key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { keyPem, csrPem: csrPem.endsWith('\n') ? csrPem : `${csrPem}\n`, subject: name.toString() };
}

/** What a CSR says, read back from its PEM. */
export interface CsrFacts {
  signatureValid: boolean;
  keyBits: number | undefined;
  country?: string;
  organisation?: string;
  organizationIdentifier?: string;
  serialNumber?: string;
  commonName?: string;
}

export async function readCsr(pem: string): Promise<CsrFacts> {
  const csr = new x509.Pkcs10CertificateRequest(pem);
  const field = (id: string) => csr.subjectName.getField(id)[0];
  const spki = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  const facts: CsrFacts = {
    signatureValid: await csr.verify(provider),
    keyBits: spki.asymmetricKeyDetails?.modulusLength,
  };
  const set = (key: keyof CsrFacts, value: string | undefined) => {
    if (value !== undefined) (facts as unknown as Record<string, string>)[key] = value;
  };
  set('country', field('C'));
  set('organisation', field('O'));
  set('organizationIdentifier', field(OID.organizationIdentifier));
  set('serialNumber', field(OID.serialNumber));
  set('commonName', field('CN'));
  return facts;
}

/** Throws when the CSR read back is not the one asked for. */
async function checkCsr(pem: string, request: CsrRequest): Promise<void> {
  const facts = await readCsr(pem);
  const expected: Partial<CsrFacts> = {
    signatureValid: true,
    keyBits: request.bits,
    country: 'NL',
    organisation: request.organisation,
    organizationIdentifier: `NTRNL-${request.kvk}`,
    serialNumber: request.oin,
    commonName: request.commonName,
  };
  const wrong = Object.entries(expected).filter(([k, v]) => facts[k as keyof CsrFacts] !== v).map(([k]) => k);
  if (wrong.length > 0) throw new Error(`the certificate request did not come out as asked (${wrong.join(', ')}); nothing was written`);
}
