/**
 * Building and checking a certificate chain from a leaf up to a configured trust anchor.
 *
 * Signatures are checked with Node's X509Certificate (OpenSSL), never node-forge: forge rejects the
 * RSASSA-PSS signatures every G4 certificate carries. Intermediates may come from the certificate file,
 * the trust-anchors file or both; administrators put them in either.
 */
import type { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { knownCa } from './hierarchy.js';
import { PROBLEM, problemAt, type CertificateProblem } from './problems.js';
import { certFields, commonName, isSelfSigned, issuerCommonName, sameCertificate } from './x509-fields.js';

export interface ChainResult {
  /** Leaf first, root (or the anchor reached) last. */
  chain: X509Certificate[];
  /** The trust anchor the chain ends at; absent when it does not reach one. */
  root?: X509Certificate;
  problems: CertificateProblem[];
}

export interface ChainOptions {
  /** The file a certificate came from, for messages. */
  origin?: (cert: X509Certificate) => string | undefined;
  /** Where a missing CA certificate can be added, in the administrator's words. */
  whereToAdd?: string;
  /** The trust-anchors file, for messages. */
  anchorsFile?: string;
  /** Whose chain this is: 'the certificate' (ours) or "ROD's server certificate". */
  subjectWord?: string;
  /** The leaf belongs to the other side (ROD): advice then points there, not to renewing our own. */
  peer?: boolean;
}

/** Deeper than any PKIoverheid hierarchy (root, domain, TSP, leaf); stops loops in odd bundles. */
const MAX_DEPTH = 8;

export function buildChain(leaf: X509Certificate, pool: X509Certificate[], anchors: X509Certificate[], now: Date): ChainResult {
  return buildChainWith(leaf, pool, anchors, now, {});
}

const isoDate = (d: Date) => d.toISOString().slice(0, 10);

/** Named as issuer (names and key identifiers match); says nothing about the signature yet. */
export function isIssuedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer);
  } catch {
    return false;
  }
}

function signs(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function validAt(cert: X509Certificate, now: Date): boolean {
  const f = certFields(cert);
  return f.notBefore <= now && now <= f.notAfter;
}

interface Walk {
  /** Leaf first. */
  chain: X509Certificate[];
  /** A certificate whose named issuer was found, but whose signature no such issuer's key verifies. */
  unverified?: { cert: X509Certificate; claimed: X509Certificate };
  tooLong: boolean;
}

/**
 * Up from the leaf by issuer name, keeping only issuers whose key verifies the signature: a CA
 * certificate with the right name can still be another generation or a TRIAL copy.
 */
function walk(leaf: X509Certificate, candidates: X509Certificate[], isAnchor: (c: X509Certificate) => boolean, now: Date): Walk {
  const chain: X509Certificate[] = [leaf];
  for (let current = leaf; !isSelfSigned(current); ) {
    const named = candidates.filter((c) => !chain.some((x) => sameCertificate(x, c)) && isIssuedBy(current, c));
    if (named.length === 0) break;
    const verified = named.filter((c) => signs(current, c));
    if (verified.length === 0) return { chain, unverified: { cert: current, claimed: named[0]! }, tooLong: false };
    // Prefer a configured anchor, then a CA certificate valid now, then the one valid longest.
    verified.sort(
      (a, b) =>
        Number(isAnchor(b)) - Number(isAnchor(a)) ||
        Number(validAt(b, now)) - Number(validAt(a, now)) ||
        certFields(b).notAfter.getTime() - certFields(a).notAfter.getTime(),
    );
    current = verified[0]!;
    chain.push(current);
    if (chain.length > MAX_DEPTH) return { chain, tooLong: true };
  }
  return { chain, tooLong: false };
}

type At = (cert: X509Certificate, code: string, message: string, advice: string) => CertificateProblem;

/** Why a chain reaches no anchor: a bad signature, a loop, an untrusted root, or a missing CA. */
function unanchored(found: Walk, top: X509Certificate, at: At, options: ChainOptions): CertificateProblem {
  const whereToAdd = options.whereToAdd ?? 'tls.cert or tls.trustAnchors';
  if (found.unverified) {
    const { cert, claimed } = found.unverified;
    const claimedFile = options.origin?.(claimed);
    return at(
      cert,
      PROBLEM.CHAIN_SIGNATURE_INVALID,
      `the signature on '${commonName(cert)}' does not verify with the key of the CA certificate '${commonName(claimed)}'${claimedFile ? ` in ${path.basename(claimedFile)}` : ''}`,
      `that CA certificate has the right name but is a different certificate (another generation, a TRIAL copy or a renewed CA): get the CA certificate that issued this certificate from your TSP or cert.pkioverheid.nl and put it in ${whereToAdd}`,
    );
  }
  if (found.tooLong) {
    return at(top, PROBLEM.CHAIN_TOO_LONG, `the chain is longer than ${MAX_DEPTH} certificates and reaches no trust anchor`, `remove unrelated certificates from ${whereToAdd}`);
  }
  if (isSelfSigned(top)) {
    const known = knownCa(top);
    const anchorsName = options.anchorsFile ? path.basename(options.anchorsFile) : 'tls.trustAnchors';
    return at(
      top,
      PROBLEM.CHAIN_ROOT_NOT_TRUSTED,
      `${options.subjectWord ?? 'the certificate'} chains to the root '${commonName(top)}', which is not among the trust anchors in ${anchorsName}`,
      known
        ? `add the ${known.name} root (download it from cert.pkioverheid.nl) to tls.trustAnchors`
        : 'this root is not a PKIoverheid root: ask your TSP for a PKIoverheid certificate; add the root to tls.trustAnchors only for a TRIAL or test hierarchy (with tls.allowUnknownRoots: true)',
    );
  }
  const missing = issuerCommonName(top);
  return at(
    top,
    PROBLEM.CHAIN_INCOMPLETE,
    `${options.subjectWord ? `the chain of ${options.subjectWord}` : 'the chain'} stops at '${commonName(top)}': its issuer '${missing}' is not in ${whereToAdd}`,
    `add the '${missing}' CA certificate (from your TSP or cert.pkioverheid.nl) to ${whereToAdd}; the chain must reach a root in tls.trustAnchors`,
  );
}

function validity(cert: X509Certificate, isLeaf: boolean, now: Date, at: At, options: ChainOptions): CertificateProblem[] {
  const f = certFields(cert);
  const what = isLeaf ? `${options.subjectWord ?? 'the certificate'} '${commonName(cert)}'` : `the CA certificate '${commonName(cert)}'`;
  if (f.notAfter < now) {
    const advice = !isLeaf
      ? `replace it with the current CA certificate from your TSP or cert.pkioverheid.nl in ${options.whereToAdd ?? 'tls.cert or tls.trustAnchors'}`
      : options.peer
        ? 'the certificate on the other side must be renewed: contact DUO, and check this machine\'s clock'
        : 'request a new certificate from your TSP, register it with DUO (`verzuim-relay cert bundle`) and configure it';
    return [at(cert, PROBLEM.CERT_EXPIRED, `${what} expired on ${isoDate(f.notAfter)}`, advice)];
  }
  if (f.notBefore > now) {
    return [
      at(cert, PROBLEM.CERT_NOT_YET_VALID, `${what} is not valid before ${f.notBefore.toISOString()}`, 'check this machine\'s clock; otherwise wait until the certificate becomes valid before switching to it'),
    ];
  }
  return [];
}

/** Dates of every certificate; CA flag and signature strength of every issuer (a root signs itself: its hash does not matter). */
function certificateProblems(chain: X509Certificate[], anchored: boolean, now: Date, at: At, options: ChainOptions): CertificateProblem[] {
  return chain.flatMap((cert, i) => {
    const f = certFields(cert);
    const problems = validity(cert, i === 0, now, at, options);
    const isTopAnchor = anchored && i === chain.length - 1;
    if (i > 0 && !f.isCa && !(isTopAnchor && isSelfSigned(cert))) {
      problems.push(at(cert, PROBLEM.CHAIN_ISSUER_NOT_CA, `'${commonName(cert)}' signed '${commonName(chain[i - 1]!)}' but is not a CA certificate`, 'the issuer must be a CA: get the correct CA certificates from your TSP'));
    }
    if (f.weakSignature && !isSelfSigned(cert)) {
      problems.push(
        at(cert, PROBLEM.SIGNATURE_WEAK, `'${commonName(cert)}' is signed with ${f.signatureAlgorithm}, which no longer protects a certificate`, 'ask your TSP for a current certificate (PKIoverheid G4 signs with RSASSA-PSS and SHA-512)'),
      );
    }
    return problems;
  });
}

export function buildChainWith(
  leaf: X509Certificate,
  pool: X509Certificate[],
  anchors: X509Certificate[],
  now: Date,
  options: ChainOptions,
): ChainResult {
  const isAnchor = (c: X509Certificate) => anchors.some((a) => sameCertificate(a, c));
  const at: At = (c, code, message, advice) => problemAt(code, { file: options.origin?.(c), certificate: commonName(c) }, message, advice);
  const candidates = [...anchors, ...pool].filter((c, i, all) => all.findIndex((d) => sameCertificate(c, d)) === i);
  const found = walk(leaf, candidates, isAnchor, now);
  // The chain counts up to the highest configured anchor in it; what lies beyond does not matter.
  const anchorIndex = found.chain.findLastIndex(isAnchor);
  const anchored = anchorIndex >= 0;
  const chain = anchored ? found.chain.slice(0, anchorIndex + 1) : found.chain;
  const top = chain[chain.length - 1]!;
  const problems = [...(anchored ? [] : [unanchored(found, top, at, options)]), ...certificateProblems(chain, anchored, now, at, options)];
  return anchored ? { chain, root: top, problems } : { chain, problems };
}
