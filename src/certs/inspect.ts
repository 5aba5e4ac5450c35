/**
 * The whole judgement of the municipality's client certificate, as `cert check`, `check-config` and
 * the daemon's start all need it: read the material, find the leaf, build the chain once, then run
 * the named checks (checks.ts). Never throws for certificate problems: every problem becomes one
 * entry that names the file, the certificate and what to do, so the administrator sees all of them
 * at once.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { TlsConfig } from '../config/schema.js';
import { buildChainWith, isIssuedBy, type ChainResult } from './chain.js';
import { CHECKS, NOTICES, chainEndsBeforeLeaf, daysUntil, type CheckContext } from './checks.js';
import { classifyRoot, knownCa, type Hierarchy } from './hierarchy.js';
import { anchorsHoldRoot, readMaterial, type Material } from './material.js';
import { PROBLEM, problemAt, type CertificateProblem } from './problems.js';
import { matches } from './read.js';
import { OID, attribute, certFields, commonName, formatName, isSelfSigned, publicKeyInfo, sameCertificate, sha256Hex } from './x509-fields.js';

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
  /**
   * A CA in the chain that expires before the leaf (a G1 certificate valid past 13 November 2028):
   * the certificate stops working then, whatever its own notAfter says.
   */
  chainEndsAt?: { certificate: string; notAfter: string; daysLeft: number };
  /** Any of these makes the certificate unusable. */
  problems: CertificateProblem[];
  /** Worth knowing, not blocking. */
  warnings: CertificateProblem[];
  /** Whether the key can sign Edukoppeling requests (RSA-SHA256, PKCS#1 v1.5); absent without a key. */
  signsEdukoppeling?: boolean;
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

export function inspectClientCertificate(tls: TlsConfig, expectedOin: string | null, now: Date = new Date()): CertificateReport {
  return inspectWithMaterial(tls, expectedOin, now).report;
}

/** The judgement plus the parsed material; credentials.ts hands the latter to the ROD client. */
export function inspectWithMaterial(tls: TlsConfig, expectedOin: string | null, now: Date = new Date()): Inspection {
  const material = readMaterial(tls);
  const { clientCerts, clientFile, key, anchors } = material;
  const problems = [...material.problems, ...anchorsHoldRoot(tls.trustAnchors, anchors)];
  const leaf = clientCerts.length > 0 && clientFile ? pickLeaf(clientCerts, key, clientFile, problems) : undefined;
  if (!leaf) {
    const report: CertificateReport = { files: filesOf(tls), chain: [], hierarchy: 'unknown', rootKnown: false, problems, warnings: [], usable: false };
    return { report, chain: [], key, anchors };
  }
  const ctx = contextFor(tls, expectedOin, now, leaf, material);
  problems.push(...CHECKS.flatMap((check) => check(ctx)));
  const warnings = NOTICES.flatMap((check) => check(ctx));
  const report = reportFor(ctx, problems, warnings);
  return { report, leaf, chain: ctx.chain.chain, key, anchors };
}

function filesOf(tls: TlsConfig): CertificateReport['files'] {
  const files: CertificateReport['files'] = { trustAnchors: tls.trustAnchors };
  if (tls.pfx !== undefined) files.pfx = tls.pfx;
  if (tls.cert !== undefined) files.cert = tls.cert;
  if (tls.key !== undefined) files.key = tls.key;
  return files;
}

function contextFor(tls: TlsConfig, expectedOin: string | null, now: Date, leaf: X509Certificate, material: Material): CheckContext {
  const { origin, anchors, key } = material;
  const pool = material.clientCerts.filter((c) => !sameCertificate(c, leaf));
  const chain = buildChainWith(leaf, pool, anchors, now, { origin, anchorsFile: tls.trustAnchors });
  const ctx: CheckContext = {
    tls,
    expectedOin,
    now,
    leaf,
    fields: certFields(leaf),
    chain,
    key,
    anchorsReadable: material.anchorsReadable,
    at: (cert, code, message, advice) => problemAt(code, { file: origin(cert), certificate: commonName(cert) }, message, advice),
  };
  if (chain.root) ctx.root = classifyRoot(chain.root);
  return ctx;
}

/** A chain that reaches no anchor is still named by the first CA a published thumbprint identifies. */
function hierarchyOf(chain: ChainResult, root: CheckContext['root']): Hierarchy {
  if (root) return root.hierarchy;
  const known = chain.chain.map(knownCa).find((k) => k !== undefined);
  return known ? known.hierarchy : classifyRoot(chain.chain[chain.chain.length - 1]!).hierarchy;
}

function reportFor(ctx: CheckContext, problems: CertificateProblem[], warnings: CertificateProblem[]): CertificateReport {
  const chain = ctx.chain.chain;
  const summaries = chain.map((c, i) => summarize(c, i === 0 ? 'leaf' : i === chain.length - 1 && isSelfSigned(c) ? 'root' : 'intermediate'));
  // In the key order `cert check --json` has always printed.
  const report: CertificateReport = {
    files: filesOf(ctx.tls),
    chain: summaries,
    hierarchy: hierarchyOf(ctx.chain, ctx.root),
    rootKnown: ctx.root?.known ?? false,
    problems,
    warnings,
    usable: problems.length === 0,
    leaf: summaries[0],
    daysLeft: daysUntil(ctx.fields.notAfter, ctx.now),
    notAfter: ctx.fields.notAfter.toISOString(),
  };
  const oin = attribute(ctx.fields.subject, OID.serialNumber);
  if (oin !== undefined) report.oin = oin;
  const endsFirst = chainEndsBeforeLeaf(ctx);
  if (endsFirst) report.chainEndsAt = { certificate: commonName(endsFirst), notAfter: certFields(endsFirst).notAfter.toISOString(), daysLeft: daysUntil(certFields(endsFirst).notAfter, ctx.now) };
  if (ctx.key) report.signsEdukoppeling = !warnings.some((w) => w.code === PROBLEM.KEY_CANNOT_SIGN_EDUKOPPELING);
  return report;
}

/**
 * The municipality's own certificate among the certificates in its file: not a CA, not the issuer of
 * another certificate in the file, and, when several qualify, the one the private key belongs to.
 */
function pickLeaf(certs: X509Certificate[], key: KeyObject | undefined, file: string, problems: CertificateProblem[]): X509Certificate | undefined {
  const candidates = certs.filter((c) => !certFields(c).isCa && !certs.some((o) => !sameCertificate(o, c) && isIssuedBy(o, c)));
  const byKey = key ? candidates.find((c) => matches(c, key)) : undefined;
  if (byKey) return byKey;
  const names = (list: X509Certificate[]) => list.map((c) => `'${commonName(c)}'`).join(', ');
  if (candidates.length === 0) {
    problems.push(
      problemAt(
        PROBLEM.LEAF_NOT_FOUND,
        { file },
        `holds only CA certificates (${names(certs)}), not your own certificate`,
        'the file must hold the certificate issued to your municipality (with its OIN), optionally followed by the CA certificates',
      ),
    );
    return undefined;
  }
  if (candidates.length > 1 && !key) {
    problems.push(
      problemAt(
        PROBLEM.LEAF_AMBIGUOUS,
        { file, certificate: commonName(candidates[0]!) },
        `holds ${candidates.length} end-entity certificates (${names(candidates)}) and no private key could be read to choose between them`,
        'keep only your current certificate and its CA certificates in the file',
      ),
    );
  }
  return candidates[0];
}
