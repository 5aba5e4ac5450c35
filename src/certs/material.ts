/**
 * Reading what the tls section names: the client's certificates and key (PEM/DER pair or PKCS#12)
 * and the trust anchors. Every file that cannot be read becomes problems, not an exception, so that
 * `cert check` reports a broken key file and a broken anchors file in one go.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { TlsConfig } from '../config/schema.js';
import { CertificateError, PROBLEM, problemAt, type CertificateProblem } from './problems.js';
import { readCertificates, readPkcs12, readPrivateKey } from './read.js';
import { commonName, isSelfSigned, sha256Hex } from './x509-fields.js';

export interface Material {
  /** The certificate file or PKCS#12 bundle the client's certificates came from. */
  clientFile?: string;
  clientCerts: X509Certificate[];
  key?: KeyObject;
  anchors: X509Certificate[];
  /** False when the anchors file itself could not be read (then "no anchor reached" says nothing new). */
  anchorsReadable: boolean;
  /** The file a certificate came from, for messages. */
  origin: (cert: X509Certificate) => string | undefined;
  problems: CertificateProblem[];
}

/** Runs `read`; a CertificateError becomes problems, anything else is a bug and propagates. */
function collect<T>(problems: CertificateProblem[], read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof CertificateError)) throw err;
    problems.push(...err.problems);
    return undefined;
  }
}

function readClient(tls: TlsConfig, problems: CertificateProblem[]): Pick<Material, 'clientCerts' | 'key'> {
  if (tls.pfx !== undefined) {
    const p12 = collect(problems, () => readPkcs12(tls.pfx!, tls.pfxPassphrase, { setting: 'tls.pfx' }));
    return p12 ? { clientCerts: p12.certs, key: p12.key } : { clientCerts: [] };
  }
  const certs = tls.cert !== undefined ? collect(problems, () => readCertificates(tls.cert!, { setting: 'tls.cert' }).certs) : undefined;
  const key = tls.key !== undefined ? collect(problems, () => readPrivateKey(tls.key!, tls.keyPassphrase, { setting: 'tls.key' })) : undefined;
  return key ? { clientCerts: certs ?? [], key } : { clientCerts: certs ?? [] };
}

/**
 * An anchors file that exists and is readable but holds no certificate gets its own code: the
 * generic "no certificate found" would not say what belongs in it.
 */
function readAnchors(file: string, problems: CertificateProblem[]): X509Certificate[] | undefined {
  try {
    return readCertificates(file, { setting: 'tls.trustAnchors' }).certs;
  } catch (err) {
    if (!(err instanceof CertificateError)) throw err;
    const unreadable = err.problems.some((p) => p.code === PROBLEM.FILE_NOT_FOUND || p.code === PROBLEM.FILE_UNREADABLE || p.code === PROBLEM.CERT_UNPARSABLE);
    problems.push(
      ...(unreadable
        ? err.problems
        : [
            problemAt(
              PROBLEM.ANCHORS_EMPTY,
              { file },
              'the trust-anchors file holds no certificate',
              'put the PKIoverheid private root certificates in it as PEM (the G4 root and, until 13 November 2028, the G1 root, from cert.pkioverheid.nl)',
            ),
          ]),
    );
    return undefined;
  }
}

export function readMaterial(tls: TlsConfig): Material {
  const problems: CertificateProblem[] = [];
  // The client's own material first, so that a certificate present in both files is attributed to it.
  const client = readClient(tls, problems);
  const anchors = readAnchors(tls.trustAnchors, problems);
  const clientFile = tls.pfx ?? tls.cert;
  const origins = new Map<string, string>();
  const remember = (certs: X509Certificate[], file: string) => {
    for (const c of certs) if (!origins.has(sha256Hex(c))) origins.set(sha256Hex(c), file);
  };
  if (clientFile) remember(client.clientCerts, clientFile);
  remember(anchors ?? [], tls.trustAnchors);
  const material: Material = {
    ...client,
    anchors: anchors ?? [],
    anchorsReadable: anchors !== undefined,
    origin: (c) => origins.get(sha256Hex(c)),
    problems,
  };
  if (clientFile !== undefined) material.clientFile = clientFile;
  return material;
}

/**
 * Node's TLS (OpenSSL without partial-chain trust) only accepts a chain that ends at a self-signed
 * root among the anchors: an intermediate alone would pass the checks here and then fail every
 * connection to ROD.
 */
export function anchorsHoldRoot(file: string, anchors: X509Certificate[]): CertificateProblem[] {
  if (anchors.length === 0 || anchors.some(isSelfSigned)) return [];
  return [
    problemAt(
      PROBLEM.ANCHORS_NO_ROOT,
      { file },
      `the trust-anchors file holds no root certificate (only ${anchors.map((a) => `'${commonName(a)}'`).join(', ')})`,
      'add the PKIoverheid private root itself (G4 Root Priv G-TLS and/or Private Root CA - G1, from cert.pkioverheid.nl); intermediates may stay in the file',
    ),
  ];
}
