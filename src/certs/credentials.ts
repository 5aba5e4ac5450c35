/**
 * What the ROD client needs for mutual TLS, produced only from a certificate setup that passed the
 * whole inspection. The private key leaves here decrypted, as PKCS#8 PEM, and lives in memory only.
 * ROD's server chain gets the same verification as our own chain.
 */
import type { X509Certificate } from 'node:crypto';
import type { TlsConfig } from '../config/schema.js';
import { buildChainWith } from './chain.js';
import { classifyRoot } from './hierarchy.js';
import { inspectWithMaterial, type CertificateReport } from './inspect.js';
import { CertificateError, PROBLEM, problemAt, type CertificateProblem } from './problems.js';
import { OID, certFields, commonName, isSelfSigned } from './x509-fields.js';

export interface ClientCredentials {
  /** Leaf and intermediates, PEM: what the relay presents to ROD. */
  certPem: string;
  /** Decrypted PKCS#8 PEM; memory only, never written or logged. */
  keyPem: string;
  /** The configured trust anchors, PEM, for verifying ROD. */
  anchorsPem: string;
  anchors: X509Certificate[];
  report: CertificateReport;
}

const pem = (certs: X509Certificate[]) => certs.map((c) => c.toString().trimEnd() + '\n').join('');

/** Throws CertificateError (exit status 2) when the report says the setup is not usable. */
export function loadClientCredentials(tls: TlsConfig, expectedOin: string | null, now: Date = new Date()): ClientCredentials {
  const { report, credentials } = inspectCredentials(tls, expectedOin, now);
  if (!credentials) throw unusable(report);
  return credentials;
}

/** The report, and the credentials when it says the setup is usable; never throws for certificate problems. */
export function inspectCredentials(tls: TlsConfig, expectedOin: string | null, now: Date = new Date()): { report: CertificateReport; credentials?: ClientCredentials } {
  const inspection = inspectWithMaterial(tls, expectedOin, now);
  const { report, leaf, key } = inspection;
  if (!report.usable || !leaf || !key) return { report };
  // The root stays out: the server has its own copy, and sending it only costs bytes.
  const presented = inspection.chain.filter((c, i) => i === 0 || !isSelfSigned(c));
  return {
    report,
    credentials: {
      certPem: pem(presented),
      keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      anchorsPem: pem(inspection.anchors),
      anchors: inspection.anchors,
      report,
    },
  };
}

/** The error (exit status 2) for a certificate setup the report found unusable. */
export function unusable(report: CertificateReport): CertificateError {
  return new CertificateError(
    report.problems.length > 0
      ? report.problems
      : [problemAt(PROBLEM.LEAF_NOT_FOUND, {}, 'no client certificate and key could be read', 'check tls.cert and tls.key (or tls.pfx)')],
  );
}

/**
 * Problems with the chain ROD presented (leaf first, as presented): it must reach a configured anchor
 * with valid signatures and dates, be meant for servers, and end at a known root unless unknown roots
 * are allowed. Empty when all is well.
 */
export function verifyServerChain(
  peerChain: X509Certificate[],
  anchors: X509Certificate[],
  allowUnknownRoots: boolean,
  now: Date = new Date(),
): CertificateProblem[] {
  const [leaf, ...rest] = peerChain;
  if (!leaf) {
    return [problemAt(PROBLEM.CHAIN_INCOMPLETE, {}, 'ROD presented no server certificate', 'check rod.url: it must point to ROD\'s mutual-TLS endpoint')];
  }
  const subjectWord = "ROD's server certificate";
  const built = buildChainWith(leaf, rest, anchors, now, { whereToAdd: 'tls.trustAnchors', subjectWord, peer: true });
  const problems = [...built.problems];
  const eku = certFields(leaf).extKeyUsage;
  if (eku !== undefined && !eku.includes(OID.serverAuth)) {
    problems.push(
      problemAt(
        PROBLEM.EKU_NO_SERVER_AUTH,
        { certificate: commonName(leaf) },
        `${subjectWord} '${commonName(leaf)}' is not meant for servers (no extended key usage serverAuth)`,
        'check rod.url: it may point to the wrong host; otherwise contact DUO',
      ),
    );
  }
  if (built.root && !allowUnknownRoots) {
    const root = classifyRoot(built.root);
    if (!root.known) {
      problems.push(
        problemAt(
          PROBLEM.ROOT_UNKNOWN,
          { certificate: commonName(built.root) },
          `${subjectWord} chains to '${root.name}', which is not a published PKIoverheid root`,
          'put only the PKIoverheid private roots from cert.pkioverheid.nl in tls.trustAnchors; for a TRIAL or test ROD set tls.allowUnknownRoots: true',
        ),
      );
    }
  }
  return problems;
}
