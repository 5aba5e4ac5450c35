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
import { PROBLEM, type CertificateProblem } from './problems.js';
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

export function buildChainWith(
  leaf: X509Certificate,
  pool: X509Certificate[],
  anchors: X509Certificate[],
  now: Date,
  options: ChainOptions,
): ChainResult {
  const whereToAdd = options.whereToAdd ?? 'tls.cert or tls.trustAnchors';
  const isAnchor = (c: X509Certificate) => anchors.some((a) => sameCertificate(a, c));
  const prefix = (c: X509Certificate) => {
    const file = options.origin?.(c);
    return file ? `${path.basename(file)}: ` : '';
  };
  const at = (c: X509Certificate, code: string, message: string, advice: string): CertificateProblem => ({
    code,
    file: options.origin?.(c),
    certificate: commonName(c),
    message: `${prefix(c)}${message}`,
    advice,
  });

  const candidates = [...anchors, ...pool].filter((c, i, all) => all.findIndex((d) => sameCertificate(c, d)) === i);
  const chain: X509Certificate[] = [leaf];
  let signatureProblem: CertificateProblem | undefined;
  let tooLong = false;

  for (let current = leaf; !isSelfSigned(current); ) {
    const named = candidates.filter((c) => !chain.some((x) => sameCertificate(x, c)) && isIssuedBy(current, c));
    if (named.length === 0) break;
    const verified = named.filter((c) => signs(current, c));
    if (verified.length === 0) {
      const claimed = named[0]!;
      signatureProblem = at(
        current,
        PROBLEM.CHAIN_SIGNATURE_INVALID,
        `the signature on '${commonName(current)}' does not verify with the key of the CA certificate '${commonName(claimed)}'${options.origin?.(claimed) ? ` in ${path.basename(options.origin(claimed)!)}` : ''}`,
        `that CA certificate has the right name but is a different certificate (another generation, a TRIAL copy or a renewed CA): get the CA certificate that issued this certificate from your TSP or cert.pkioverheid.nl and put it in ${whereToAdd}`,
      );
      break;
    }
    // Prefer a configured anchor, then a CA certificate valid now, then the one valid longest.
    verified.sort(
      (a, b) =>
        Number(isAnchor(b)) - Number(isAnchor(a)) ||
        Number(validAt(b, now)) - Number(validAt(a, now)) ||
        certFields(b).notAfter.getTime() - certFields(a).notAfter.getTime(),
    );
    current = verified[0]!;
    chain.push(current);
    if (chain.length > MAX_DEPTH) {
      tooLong = true;
      break;
    }
  }

  const problems: CertificateProblem[] = [];
  // The chain counts up to the highest configured anchor in it; what lies beyond does not matter.
  let anchorIndex = -1;
  chain.forEach((c, i) => {
    if (isAnchor(c)) anchorIndex = i;
  });
  const anchored = anchorIndex >= 0;
  const result = anchored ? chain.slice(0, anchorIndex + 1) : chain;
  const top = result[result.length - 1]!;

  if (!anchored) {
    if (signatureProblem) {
      problems.push(signatureProblem);
    } else if (tooLong) {
      problems.push(at(top, PROBLEM.CHAIN_TOO_LONG, `the chain is longer than ${MAX_DEPTH} certificates and reaches no trust anchor`, `remove unrelated certificates from ${whereToAdd}`));
    } else if (isSelfSigned(top)) {
      const known = knownCa(top);
      const anchorsName = options.anchorsFile ? path.basename(options.anchorsFile) : 'tls.trustAnchors';
      problems.push(
        at(
          top,
          PROBLEM.CHAIN_ROOT_NOT_TRUSTED,
          `${options.subjectWord ?? 'the certificate'} chains to the root '${commonName(top)}', which is not among the trust anchors in ${anchorsName}`,
          known
            ? `add the ${known.name} root (download it from cert.pkioverheid.nl) to tls.trustAnchors`
            : 'this root is not a PKIoverheid root: ask your TSP for a PKIoverheid certificate; add the root to tls.trustAnchors only for a TRIAL or test hierarchy (with tls.allowUnknownRoots: true)',
        ),
      );
    } else {
      const missing = issuerCommonName(top);
      problems.push(
        at(
          top,
          PROBLEM.CHAIN_INCOMPLETE,
          `${options.subjectWord ? `the chain of ${options.subjectWord}` : 'the chain'} stops at '${commonName(top)}': its issuer '${missing}' is not in ${whereToAdd}`,
          `add the '${missing}' CA certificate (from your TSP or cert.pkioverheid.nl) to ${whereToAdd}; the chain must reach a root in tls.trustAnchors`,
        ),
      );
    }
  }

  result.forEach((cert, i) => {
    const f = certFields(cert);
    const isLeaf = i === 0;
    const what = isLeaf ? `${options.subjectWord ?? 'the certificate'} '${commonName(cert)}'` : `the CA certificate '${commonName(cert)}'`;
    if (f.notAfter < now) {
      problems.push(
        at(
          cert,
          PROBLEM.CERT_EXPIRED,
          `${what} expired on ${isoDate(f.notAfter)}`,
          isLeaf
            ? options.peer
              ? 'the certificate on the other side must be renewed: contact DUO, and check this machine\'s clock'
              : 'request a new certificate from your TSP, register it with DUO (`verzuim-relay cert bundle`) and configure it'
            : `replace it with the current CA certificate from your TSP or cert.pkioverheid.nl in ${whereToAdd}`,
        ),
      );
    } else if (f.notBefore > now) {
      problems.push(
        at(
          cert,
          PROBLEM.CERT_NOT_YET_VALID,
          `${what} is not valid before ${f.notBefore.toISOString()}`,
          'check this machine\'s clock; otherwise wait until the certificate becomes valid before switching to it',
        ),
      );
    }
    const isTopAnchor = anchored && i === result.length - 1;
    if (i > 0 && !f.isCa && !(isTopAnchor && isSelfSigned(cert))) {
      problems.push(
        at(cert, PROBLEM.CHAIN_ISSUER_NOT_CA, `'${commonName(cert)}' signed '${commonName(result[i - 1]!)}' but is not a CA certificate`, 'the issuer must be a CA: get the correct CA certificates from your TSP'),
      );
    }
    if (f.weakSignature && !isSelfSigned(cert)) {
      problems.push(
        at(cert, PROBLEM.SIGNATURE_WEAK, `'${commonName(cert)}' is signed with ${f.signatureAlgorithm}, which no longer protects a certificate`, 'ask your TSP for a current certificate (PKIoverheid G4 signs with RSASSA-PSS and SHA-512)'),
      );
    }
  });

  return anchored ? { chain: result, root: top, problems } : { chain: result, problems };
}

