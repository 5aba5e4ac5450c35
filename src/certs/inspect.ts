/**
 * The whole judgement of the municipality's client certificate, as `cert check`, `check-config` and
 * the daemon's start all need it: read the files, find the leaf, match the key, check usage, key size,
 * OIN, chain and hierarchy. Never throws for certificate problems: every problem becomes one entry
 * that names the file, the certificate and what to do, so the administrator sees all of them at once.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import path from 'node:path';
import type { TlsConfig } from '../config/schema.js';
import { buildChainWith, isIssuedBy } from './chain.js';
import { G1_ROOT_EXPIRY, classifyRoot, generationOf, knownCa, type Hierarchy } from './hierarchy.js';
import { CertificateError, PROBLEM, type CertificateProblem } from './problems.js';
import { matches, readCertificates, readPkcs12, readPrivateKey } from './read.js';
import {
  OID,
  attribute,
  certFields,
  commonName,
  formatName,
  isSelfSigned,
  publicKeyInfo,
  sameCertificate,
  sha256Hex,
} from './x509-fields.js';

export interface CertSummary {
  subject: string;
  issuer: string;
  /** Hex, as OpenSSL prints it. */
  serialNumber: string;
  /** ISO 8601. */
  validFrom: string;
  validTo: string;
  /** E.g. 'RSASSA-PSS (SHA-512)', 'sha256WithRSAEncryption'. */
  signatureAlgorithm: string;
  /** E.g. 'RSA 3072'. */
  publicKey: string;
  /** SHA-256 of the DER, hex lower-case. */
  sha256: string;
  role: 'leaf' | 'intermediate' | 'root';
}

export interface CertificateReport {
  usable: boolean;
  files: { cert?: string; key?: string; pfx?: string; trustAnchors: string };
  leaf?: CertSummary;
  /** Leaf first, root last. */
  chain: CertSummary[];
  hierarchy: Hierarchy;
  rootKnown: boolean;
  oin?: string;
  daysLeft?: number;
  notAfter?: string;
  /** Any of these makes the certificate unusable. */
  problems: CertificateProblem[];
  /** Worth knowing, not blocking. */
  warnings: CertificateProblem[];
}

/** What inspection found, beyond the report: what the ROD client needs to connect. */
export interface Inspection {
  report: CertificateReport;
  leaf?: X509Certificate;
  /** Leaf first, up to the anchor reached. */
  chain: X509Certificate[];
  key?: KeyObject;
  anchors: X509Certificate[];
}

const DAY_MS = 86_400_000;
const OIN_PATTERN = /^[0-9]{20}$/;
const ACCEPTED_CURVES = new Set(['P-256', 'P-384', 'P-521']);

export function summarize(cert: X509Certificate, role: CertSummary['role']): CertSummary {
  const f = certFields(cert);
  return {
    subject: formatName(f.subject),
    issuer: formatName(f.issuer),
    serialNumber: cert.serialNumber,
    validFrom: f.notBefore.toISOString(),
    validTo: f.notAfter.toISOString(),
    signatureAlgorithm: f.signatureAlgorithm,
    publicKey: publicKeyInfo(cert).description,
    sha256: sha256Hex(cert),
    role,
  };
}

export function inspectClientCertificate(tls: TlsConfig, expectedOin: string, now: Date = new Date()): CertificateReport {
  return inspectWithMaterial(tls, expectedOin, now).report;
}

function collect(problems: CertificateProblem[], fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof CertificateError) problems.push(...err.problems);
    else throw err;
  }
}

/** The judgement plus the parsed material; credentials.ts hands the latter to the ROD client. */
export function inspectWithMaterial(tls: TlsConfig, expectedOin: string, now: Date = new Date()): Inspection {
  const files: CertificateReport['files'] = { trustAnchors: tls.trustAnchors };
  if (tls.pfx !== undefined) files.pfx = tls.pfx;
  if (tls.cert !== undefined) files.cert = tls.cert;
  if (tls.key !== undefined) files.key = tls.key;

  const problems: CertificateProblem[] = [];
  const warnings: CertificateProblem[] = [];
  const origins = new Map<string, string>();
  const remember = (certs: X509Certificate[], file: string) => {
    for (const c of certs) if (!origins.has(sha256Hex(c))) origins.set(sha256Hex(c), file);
  };

  // The client's own material first, so that a certificate present in both files is attributed to it.
  let clientCerts: X509Certificate[] = [];
  let key: KeyObject | undefined;
  const clientFile = tls.pfx ?? tls.cert;
  if (tls.pfx !== undefined) {
    collect(problems, () => {
      const p12 = readPkcs12(tls.pfx!, tls.pfxPassphrase, { setting: 'tls.pfx' });
      clientCerts = p12.certs;
      key = p12.key;
    });
  } else {
    if (tls.cert !== undefined) collect(problems, () => (clientCerts = readCertificates(tls.cert!, { setting: 'tls.cert' }).certs));
    if (tls.key !== undefined) collect(problems, () => (key = readPrivateKey(tls.key!, tls.keyPassphrase, { setting: 'tls.key' })));
  }
  if (clientFile) remember(clientCerts, clientFile);

  let anchors: X509Certificate[] = [];
  let anchorsReadable = true;
  collect(problems, () => {
    try {
      anchors = readCertificates(tls.trustAnchors, { setting: 'tls.trustAnchors' }).certs;
    } catch (err) {
      anchorsReadable = false;
      if (!(err instanceof CertificateError)) throw err;
      const readable = err.problems.every((p) => p.code !== PROBLEM.FILE_NOT_FOUND && p.code !== PROBLEM.FILE_UNREADABLE && p.code !== PROBLEM.CERT_UNPARSABLE);
      if (!readable) throw err;
      throw new CertificateError([
        {
          code: PROBLEM.ANCHORS_EMPTY,
          file: tls.trustAnchors,
          message: `${path.basename(tls.trustAnchors)}: the trust-anchors file holds no certificate`,
          advice: 'put the PKIoverheid private root certificates in it as PEM (the G4 root and, until 13 November 2028, the G1 root, from cert.pkioverheid.nl)',
        },
      ]);
    }
  });
  remember(anchors, tls.trustAnchors);
  // Node's TLS (OpenSSL without partial-chain trust) only accepts a chain that
  // ends at a self-signed root among the anchors: an intermediate alone would
  // pass the checks here and then fail every connection to ROD.
  if (anchors.length > 0 && !anchors.some(isSelfSigned)) {
    problems.push({
      code: PROBLEM.ANCHORS_NO_ROOT,
      file: tls.trustAnchors,
      message: `${path.basename(tls.trustAnchors)}: the trust-anchors file holds no root certificate (only ${anchors.map((a) => `'${commonName(a)}'`).join(', ')})`,
      advice: 'add the PKIoverheid private root itself (G4 Root Priv G-TLS and/or Private Root CA - G1, from cert.pkioverheid.nl); intermediates may stay in the file',
    });
  }

  const origin = (c: X509Certificate) => origins.get(sha256Hex(c));
  const at = (c: X509Certificate, code: string, message: string, advice: string): CertificateProblem => {
    const file = origin(c);
    return { code, file, certificate: commonName(c), message: `${file ? `${path.basename(file)}: ` : ''}${message}`, advice };
  };

  const base: Omit<CertificateReport, 'usable'> = { files, chain: [], hierarchy: 'unknown', rootKnown: false, problems, warnings };
  const leaf = clientCerts.length > 0 && clientFile ? pickLeaf(clientCerts, key, clientFile, problems) : undefined;
  if (!leaf) return { report: { ...base, usable: false }, chain: [], key, anchors };

  // The key.
  const leafName = `the certificate '${commonName(leaf)}'`;
  if (key && !matches(leaf, key)) {
    const keyFile = tls.pfx ?? tls.key;
    problems.push({
      code: PROBLEM.KEY_MISMATCH,
      file: keyFile,
      certificate: commonName(leaf),
      message: `${keyFile ? `${path.basename(keyFile)}: ` : ''}the private key does not belong to ${leafName}${tls.pfx ? '' : ` in ${path.basename(tls.cert ?? '')}`}`,
      advice: tls.pfx
        ? 'export the PKCS#12 bundle again from the machine where the certificate was requested, with its own private key'
        : 'configure the key that was generated together with the certificate request (CSR) for this certificate; after a renewal, certificate and key both change',
    });
  }

  // The certificate itself.
  const f = certFields(leaf);
  if (!f.extKeyUsage?.includes(OID.clientAuth)) {
    problems.push(
      at(
        leaf,
        PROBLEM.EKU_NO_CLIENT_AUTH,
        `${leafName} has no extended key usage clientAuth${f.extKeyUsage ? '' : ' (no extended key usage at all)'}`,
        'ask your TSP for a PKIoverheid server/client certificate (G4 Private G-TLS) that includes clientAuth',
      ),
    );
  }
  const pk = publicKeyInfo(leaf);
  if (pk.type === 'rsa' && (pk.bits ?? 0) < 2048) {
    problems.push(at(leaf, PROBLEM.KEY_TOO_WEAK, `${leafName} has a ${pk.description}-bit key; at least RSA 2048 is required`, 'request a new certificate with an RSA key of 3072 bits (what G4 uses) from your TSP'));
  } else if (pk.type === 'ec' && !ACCEPTED_CURVES.has(pk.curve ?? '')) {
    problems.push(at(leaf, PROBLEM.KEY_TOO_WEAK, `${leafName} has a key on curve ${pk.curve}; P-256 or stronger is required`, 'request a new certificate with an RSA 3072 key from your TSP'));
  } else if (pk.type === 'other') {
    problems.push(at(leaf, PROBLEM.KEY_TYPE_UNSUPPORTED, `${leafName} has a ${pk.description} key, which ROD connections do not use`, 'request a certificate with an RSA 3072 key from your TSP'));
  }

  const oin = attribute(f.subject, OID.serialNumber);
  if (oin === undefined) {
    problems.push(at(leaf, PROBLEM.OIN_MISSING, `${leafName} carries no OIN (its subject has no serialNumber)`, 'Digikoppeling identifies your organisation by the OIN in the subject serialNumber: request a PKIoverheid certificate with your OIN from your TSP'));
  } else if (!OIN_PATTERN.test(oin)) {
    problems.push(at(leaf, PROBLEM.OIN_INVALID, `${leafName} has subject serialNumber "${oin}", which is not an OIN (20 digits)`, 'request a PKIoverheid certificate that carries your organisation\'s OIN from your TSP'));
  } else if (oin !== expectedOin) {
    problems.push(
      at(
        leaf,
        PROBLEM.OIN_MISMATCH,
        `${leafName} carries OIN ${oin}, but municipality.oin is ${expectedOin}`,
        'if the certificate is your municipality\'s, correct municipality.oin; otherwise configure the certificate issued for your own OIN (ROD identifies the municipality by it)',
      ),
    );
  }

  // The chain.
  const pool = clientCerts.filter((c) => !sameCertificate(c, leaf));
  const built = buildChainWith(leaf, pool, anchors, now, { origin, anchorsFile: tls.trustAnchors });
  for (const p of built.problems) {
    // Without a readable anchors file "no anchor reached" repeats the problem already reported.
    if (!anchorsReadable && (p.code === PROBLEM.CHAIN_ROOT_NOT_TRUSTED || p.code === PROBLEM.CHAIN_INCOMPLETE)) continue;
    problems.push(p);
  }

  let hierarchy: Hierarchy = 'unknown';
  let rootKnown = false;
  const top = built.chain[built.chain.length - 1]!;
  if (built.root) {
    const c = classifyRoot(built.root);
    hierarchy = c.hierarchy;
    rootKnown = c.known;
    if (!c.known) {
      const trialNote = c.hierarchy === 'TRIAL' ? ' (a TRIAL hierarchy, without trust)' : '';
      if (tls.allowUnknownRoots) {
        warnings.push(at(built.root, PROBLEM.ROOT_UNKNOWN_ALLOWED, `the chain ends at '${c.name}'${trialNote}, which is not a published PKIoverheid root; accepted because tls.allowUnknownRoots is true`, 'use this only for TRIAL or test hierarchies: set tls.allowUnknownRoots to false in production'));
      } else {
        problems.push(at(built.root, PROBLEM.ROOT_UNKNOWN, `the chain ends at '${c.name}'${trialNote}, which is not a published PKIoverheid root (its SHA-256 matches neither the G1 nor the G4 root)`, 'configure the real PKIoverheid private roots from cert.pkioverheid.nl in tls.trustAnchors and a certificate issued under them; for a TRIAL or test hierarchy set tls.allowUnknownRoots: true'));
      }
    }
  } else {
    const known = built.chain.map(knownCa).find((k) => k !== undefined);
    hierarchy = known ? known.hierarchy : classifyRoot(top).hierarchy;
  }

  if (generationOf(built.chain) === 'G1') {
    const rootEnd = new Date(`${G1_ROOT_EXPIRY}T00:00:00Z`);
    const daysToEnd = Math.floor((rootEnd.getTime() - now.getTime()) / DAY_MS);
    warnings.push(
      at(
        leaf,
        PROBLEM.G1_ROOT_EXPIRES,
        `${leafName} belongs to the PKIoverheid G1 hierarchy, whose root expires on 13 November 2028 (${G1_ROOT_EXPIRY}, in ${daysToEnd} days); no G1 certificate works after that date`,
        'order the next certificate under G4 (G4 Private G-TLS), add the G4 root to tls.trustAnchors, and register the new certificate with DUO in time',
      ),
    );
  }

  const daysLeft = Math.floor((f.notAfter.getTime() - now.getTime()) / DAY_MS);
  if (daysLeft >= 0 && daysLeft <= tls.expiryWarningDays) {
    warnings.push(
      at(
        leaf,
        PROBLEM.CERT_EXPIRES_SOON,
        `${leafName} expires on ${f.notAfter.toISOString().slice(0, 10)}, in ${daysLeft} day${daysLeft === 1 ? '' : 's'}`,
        'request the renewal from your TSP now, register the new certificate with DUO (`verzuim-relay cert bundle`) before the old one expires, then configure it',
      ),
    );
  }

  const chainSummaries = built.chain.map((c, i) =>
    summarize(c, i === 0 ? 'leaf' : i === built.chain.length - 1 && isSelfSigned(c) ? 'root' : 'intermediate'),
  );
  const report: CertificateReport = {
    ...base,
    usable: problems.length === 0,
    leaf: chainSummaries[0],
    chain: chainSummaries,
    hierarchy,
    rootKnown,
    daysLeft,
    notAfter: f.notAfter.toISOString(),
  };
  if (oin !== undefined) report.oin = oin;
  return { report, leaf, chain: built.chain, key, anchors };
}

/**
 * The municipality's own certificate among the certificates in its file: not a CA, not the issuer of
 * another certificate in the file, and, when several qualify, the one the private key belongs to.
 */
function pickLeaf(certs: X509Certificate[], key: KeyObject | undefined, file: string, problems: CertificateProblem[]): X509Certificate | undefined {
  const candidates = certs.filter((c) => !certFields(c).isCa && !certs.some((o) => !sameCertificate(o, c) && isIssuedBy(o, c)));
  const byKey = key ? candidates.find((c) => matches(c, key)) : undefined;
  if (byKey) return byKey;
  const name = path.basename(file);
  if (candidates.length === 0) {
    problems.push({
      code: PROBLEM.LEAF_NOT_FOUND,
      file,
      message: `${name}: holds only CA certificates (${certs.map((c) => `'${commonName(c)}'`).join(', ')}), not your own certificate`,
      advice: 'the file must hold the certificate issued to your municipality (with its OIN), optionally followed by the CA certificates',
    });
    return undefined;
  }
  if (candidates.length > 1 && !key) {
    problems.push({
      code: PROBLEM.LEAF_AMBIGUOUS,
      file,
      certificate: commonName(candidates[0]!),
      message: `${name}: holds ${candidates.length} end-entity certificates (${candidates.map((c) => `'${commonName(c)}'`).join(', ')}) and no private key could be read to choose between them`,
      advice: 'keep only your current certificate and its CA certificates in the file',
    });
  }
  return candidates[0];
}
