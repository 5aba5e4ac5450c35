/**
 * The judgement of the municipality's client certificate as a list of named checks. Each check sees
 * the same context (the leaf, its key, the chain built once) and returns the problems it finds; the
 * order of the lists is the order in which the administrator reads them.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { TlsConfig } from '../config/schema.js';
import type { ChainResult } from './chain.js';
import { G1_ROOT_EXPIRY, generationOf, type Hierarchy } from './hierarchy.js';
import { PROBLEM, problemAt, type CertificateProblem } from './problems.js';
import { matches } from './read.js';
import { edukoppelingSigningProblem } from './signing-key.js';
import { OID, attribute, certFields, commonName, publicKeyInfo, type CertFields } from './x509-fields.js';

export interface CheckContext {
  tls: TlsConfig;
  /** null: any OIN (a regional bureau's certificate, acting for the gemeenten named in wsa:From). */
  expectedOin: string | null;
  now: Date;
  leaf: X509Certificate;
  /** certFields(leaf). */
  fields: CertFields;
  key?: KeyObject;
  chain: ChainResult;
  /** How the root the chain reached was classified; absent when it reached none. */
  root?: { hierarchy: Hierarchy; name: string; known: boolean };
  anchorsReadable: boolean;
  /** A problem about one certificate, attributed to the file it came from. */
  at(cert: X509Certificate, code: string, message: string, advice: string): CertificateProblem;
}

export type Check = (ctx: CheckContext) => CertificateProblem[];

const DAY_MS = 86_400_000;
const OIN_PATTERN = /^[0-9]{20}$/;
const ACCEPTED_CURVES = new Set(['P-256', 'P-384', 'P-521']);

export const daysUntil = (date: Date, now: Date): number => Math.floor((date.getTime() - now.getTime()) / DAY_MS);

const leafName = (ctx: CheckContext) => `the certificate '${commonName(ctx.leaf)}'`;

/** The problem is reported at the key's file: that is the one to replace. */
export const keyMatches: Check = (ctx) => {
  const { tls, leaf, key } = ctx;
  if (!key || matches(leaf, key)) return [];
  const inCertFile = tls.pfx ? '' : ` in ${path.basename(tls.cert ?? '')}`;
  return [
    problemAt(
      PROBLEM.KEY_MISMATCH,
      { file: tls.pfx ?? tls.key, certificate: commonName(leaf) },
      `the private key does not belong to ${leafName(ctx)}${inCertFile}`,
      tls.pfx
        ? 'export the PKCS#12 bundle again from the machine where the certificate was requested, with its own private key'
        : 'configure the key that was generated together with the certificate request (CSR) for this certificate; after a renewal, certificate and key both change',
    ),
  ];
};

export const clientAuthUsage: Check = (ctx) => {
  const eku = ctx.fields.extKeyUsage;
  if (eku?.includes(OID.clientAuth)) return [];
  return [
    ctx.at(
      ctx.leaf,
      PROBLEM.EKU_NO_CLIENT_AUTH,
      `${leafName(ctx)} has no extended key usage clientAuth${eku ? '' : ' (no extended key usage at all)'}`,
      'ask your TSP for a PKIoverheid server/client certificate (G4 Private G-TLS) that includes clientAuth',
    ),
  ];
};

export const keyStrength: Check = (ctx) => {
  const pk = publicKeyInfo(ctx.leaf);
  const name = leafName(ctx);
  if (pk.type === 'rsa' && (pk.bits ?? 0) < 2048) {
    return [ctx.at(ctx.leaf, PROBLEM.KEY_TOO_WEAK, `${name} has a ${pk.description}-bit key; at least RSA 2048 is required`, 'request a new certificate with an RSA key of 3072 bits (what G4 uses) from your TSP')];
  }
  if (pk.type === 'ec' && !ACCEPTED_CURVES.has(pk.curve ?? '')) {
    return [ctx.at(ctx.leaf, PROBLEM.KEY_TOO_WEAK, `${name} has a key on curve ${pk.curve}; P-256 or stronger is required`, 'request a new certificate with an RSA 3072 key from your TSP')];
  }
  if (pk.type === 'other') {
    return [ctx.at(ctx.leaf, PROBLEM.KEY_TYPE_UNSUPPORTED, `${name} has a ${pk.description} key, which ROD connections do not use`, 'request a certificate with an RSA 3072 key from your TSP')];
  }
  return [];
};

/** Digikoppeling identifies an organisation by the OIN in the subject serialNumber; ROD maps it to the municipality. */
export const oinMatches: Check = (ctx) => {
  const oin = attribute(ctx.fields.subject, OID.serialNumber);
  const name = leafName(ctx);
  if (oin === undefined) {
    return [ctx.at(ctx.leaf, PROBLEM.OIN_MISSING, `${name} carries no OIN (its subject has no serialNumber)`, 'Digikoppeling identifies your organisation by the OIN in the subject serialNumber: request a PKIoverheid certificate with your OIN from your TSP')];
  }
  if (!OIN_PATTERN.test(oin)) {
    return [ctx.at(ctx.leaf, PROBLEM.OIN_INVALID, `${name} has subject serialNumber "${oin}", which is not an OIN (20 digits)`, 'request a PKIoverheid certificate that carries your organisation\'s OIN from your TSP')];
  }
  if (ctx.expectedOin !== null && oin !== ctx.expectedOin) {
    return [
      ctx.at(
        ctx.leaf,
        PROBLEM.OIN_MISMATCH,
        `${name} carries OIN ${oin}, but municipality.oin is ${ctx.expectedOin}`,
        'if the certificate is your municipality\'s, correct municipality.oin; otherwise configure the certificate issued for your own OIN (ROD identifies the municipality by it)',
      ),
    ];
  }
  return [];
};

/** Without a readable anchors file "no anchor reached" repeats the problem already reported. */
export const chainValid: Check = (ctx) =>
  ctx.chain.problems.filter((p) => ctx.anchorsReadable || (p.code !== PROBLEM.CHAIN_ROOT_NOT_TRUSTED && p.code !== PROBLEM.CHAIN_INCOMPLETE));

const trialNote = (ctx: CheckContext) => (ctx.root?.hierarchy === 'TRIAL' ? ' (a TRIAL hierarchy, without trust)' : '');

export const rootKnown: Check = (ctx) => {
  const { root, chain } = ctx;
  if (!root || !chain.root || root.known || ctx.tls.allowUnknownRoots) return [];
  return [
    ctx.at(
      chain.root,
      PROBLEM.ROOT_UNKNOWN,
      `the chain ends at '${root.name}'${trialNote(ctx)}, which is not a published PKIoverheid root (its SHA-256 matches neither the G1 nor the G4 root)`,
      'configure the real PKIoverheid private roots from cert.pkioverheid.nl in tls.trustAnchors and a certificate issued under them; for a TRIAL or test hierarchy set tls.allowUnknownRoots: true',
    ),
  ];
};

/** Any of these makes the certificate unusable; in this order in the report. */
export const CHECKS: readonly Check[] = [keyMatches, clientAuthUsage, keyStrength, oinMatches, chainValid, rootKnown];

export const unknownRootAllowed: Check = (ctx) => {
  const { root, chain } = ctx;
  if (!root || !chain.root || root.known || !ctx.tls.allowUnknownRoots) return [];
  return [
    ctx.at(
      chain.root,
      PROBLEM.ROOT_UNKNOWN_ALLOWED,
      `the chain ends at '${root.name}'${trialNote(ctx)}, which is not a published PKIoverheid root; accepted because tls.allowUnknownRoots is true`,
      'use this only for TRIAL or test hierarchies: set tls.allowUnknownRoots to false in production',
    ),
  ];
};

/** G1 certificates stop working with their root, whatever their own notAfter says. */
export const g1RootExpires: Check = (ctx) => {
  if (generationOf(ctx.chain.chain) !== 'G1') return [];
  const daysToEnd = daysUntil(new Date(`${G1_ROOT_EXPIRY}T00:00:00Z`), ctx.now);
  return [
    ctx.at(
      ctx.leaf,
      PROBLEM.G1_ROOT_EXPIRES,
      `${leafName(ctx)} belongs to the PKIoverheid G1 hierarchy, whose root expires on 13 November 2028 (${G1_ROOT_EXPIRY}, in ${daysToEnd} days); no G1 certificate works after that date`,
      'order the next certificate under G4 (G4 Private G-TLS), add the G4 root to tls.trustAnchors, and register the new certificate with DUO in time',
    ),
  ];
};

/** The CA in the chain that expires first, when it expires before the leaf. */
export function chainEndsBeforeLeaf(ctx: Pick<CheckContext, 'chain' | 'fields'>): X509Certificate | undefined {
  const cas = ctx.chain.chain.slice(1);
  const first = cas.reduce<X509Certificate | undefined>((a, c) => (a && certFields(a).notAfter <= certFields(c).notAfter ? a : c), undefined);
  return first && certFields(first).notAfter < ctx.fields.notAfter ? first : undefined;
}

/**
 * A G1 certificate issued late can be valid past its root's end (13 November 2028): it stops working
 * with the root, so the renewal is due before its own notAfter.
 */
export const chainExpiresFirst: Check = (ctx) => {
  const ca = chainEndsBeforeLeaf(ctx);
  if (!ca) return [];
  const end = certFields(ca).notAfter;
  const g1 = generationOf(ctx.chain.chain) === 'G1';
  return [
    ctx.at(
      ctx.leaf,
      PROBLEM.CHAIN_EXPIRES_BEFORE_LEAF,
      `${leafName(ctx)} is valid until ${ctx.fields.notAfter.toISOString().slice(0, 10)}, but '${commonName(ca)}' in its chain expires on ${end.toISOString().slice(0, 10)} (in ${daysUntil(end, ctx.now)} days): the certificate stops working then`,
      g1
        ? 'renew before that date under G4 (G4 Private G-TLS): `verzuim-relay cert request`, then configure the new certificate as tls.next; the expiry warnings count to the earlier date'
        : 'renew before that date; the expiry warnings count to the earlier date',
    ),
  ];
};

/** A renewal needs DUO's registration of the new certificate, which takes time: warn early. */
export const expiresSoon: Check = (ctx) => {
  const notAfter = ctx.fields.notAfter;
  const daysLeft = daysUntil(notAfter, ctx.now);
  if (daysLeft < 0 || daysLeft > ctx.tls.expiryWarningDays) return [];
  return [
    ctx.at(
      ctx.leaf,
      PROBLEM.CERT_EXPIRES_SOON,
      `${leafName(ctx)} expires on ${notAfter.toISOString().slice(0, 10)}, in ${daysLeft} day${daysLeft === 1 ? '' : 's'}`,
      'request the renewal from your TSP now, register the new certificate with DUO (`verzuim-relay cert bundle`) before the old one expires, then configure it',
    ),
  ];
};

/**
 * Edukoppeling signs every request with the TLS client key, RSA-SHA256 with
 * PKCS#1 v1.5 padding even for a G4 certificate. A key that cannot (an EC
 * key, a broken key) still makes TLS work with rod.protocol rest, so this is
 * a warning here; with edukoppeling the first request would fail.
 */
export const signsForEdukoppeling: Check = (ctx) => {
  if (!ctx.key) return [];
  const problem = edukoppelingSigningProblem(ctx.key, ctx.leaf);
  if (problem === undefined) return [];
  return [
    ctx.at(
      ctx.leaf,
      PROBLEM.KEY_CANNOT_SIGN_EDUKOPPELING,
      `the key of ${leafName(ctx)} cannot make Edukoppeling's message signature (RSA-SHA256, PKCS#1 v1.5): ${problem}`,
      'DUO\'s ROD (rod.protocol: edukoppeling) needs an RSA key: request a certificate with an RSA 3072 key from your TSP',
    ),
  ];
};

/** Worth knowing, not blocking. */
/** The code of keyFilePermissions' warning; the relay logs it at start as `cert.key-permissions`. */
export const KEY_PERMISSIONS = 'KEY_PERMISSIONS';

/**
 * Whoever can read the private key can act as the municipality towards DUO.
 * A warning, not a refusal: on some volumes (a Kubernetes secret mounted with
 * group read for fsGroup) the administrator may have no other choice.
 */
export const keyFilePermissions: Check = (ctx) => {
  const file = ctx.tls.pfx ?? ctx.tls.key;
  if (!file || process.platform === 'win32') return [];
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return []; // reading the key already reported a missing or unreadable file
  }
  if ((mode & 0o077) === 0) return [];
  const octal = mode.toString(8).padStart(4, '0');
  return [
    problemAt(
      KEY_PERMISSIONS,
      { file },
      `the private key is readable by ${mode & 0o007 ? 'all users' : 'its group'} (mode ${octal})`,
      `restrict it to the relay's user: chmod 600 ${file}`,
    ),
  ];
};

export const NOTICES: readonly Check[] = [unknownRootAllowed, g1RootExpires, chainExpiresFirst, expiresSoon, signsForEdukoppeling, keyFilePermissions];
