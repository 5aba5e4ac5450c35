/**
 * Client certificates that are wrong in exactly one way each, so the relay's certificate checks (and
 * its error messages) can be tried against every mistake an administrator is likely to make.
 * Each goes to dir/broken/<name>/client.crt and client.key.
 */
import { issueCa, createRoot, generateKeyPair, issueLeaf, type KeyPair, type LeafOptions } from './issue.js';
import { pemOf, pkcs8Pem, write, writeKey } from './files.js';
import type { StyleProfile } from './profiles.js';
import type { GeneratedPki } from './issue.js';
import type { x509 } from './x509.js';

export type BrokenName =
  | 'expired'
  | 'notYetValid'
  | 'wrongOin'
  | 'noClientAuth'
  | 'keyMismatch'
  | 'missingIntermediate'
  | 'weakKey'
  | 'untrustedRoot';

/** Keys only the broken variants need; generated together with the main keys to save time. */
export interface BrokenKeys {
  /** A pair of its own, whose private key goes beside the real client certificate. */
  other: KeyPair;
  /** RSA 1024: far below what PKIoverheid (or anyone) still issues. */
  weak: KeyPair;
  untrustedRoot: KeyPair;
  untrustedCa: KeyPair;
}

export async function generateBrokenKeys(profile: StyleProfile): Promise<BrokenKeys> {
  // The self-made CAs get leaf-sized keys: their size is beside the point, and RSA 4096 key
  // generation is the slowest step of the whole run.
  const [other, weak, untrustedRoot, untrustedCa] = await Promise.all([
    generateKeyPair(profile, profile.leafKeyBits),
    generateKeyPair(profile, 1024),
    generateKeyPair(profile, profile.leafKeyBits),
    generateKeyPair(profile, profile.leafKeyBits),
  ]);
  return { other, weak, untrustedRoot, untrustedCa };
}

const DAY = 24 * 60 * 60 * 1000;

/** An OIN that differs from the client's: another municipality's, as far as the relay can tell. */
function otherOin(oin: string): string {
  return oin === '00000001009999999000' ? '00000001009999998000' : '00000001009999999000';
}

export async function writeBroken(
  pki: GeneratedPki,
  keys: BrokenKeys,
  dir: string,
): Promise<Record<BrokenName, { cert: string; key: string }>> {
  const { profile, now, tsp, domain, client } = pki;
  const at = (offsetDays: number) => new Date(now.getTime() + offsetDays * DAY);
  const normal: LeafOptions = {
    subject: client.subject,
    dnsNames: client.dnsNames,
    validity: { notBefore: at(-1), notAfter: at(365) },
  };
  const fromTsp = (publicKey: KeyPair['publicKey'], changes: Partial<LeafOptions>) =>
    issueLeaf(profile, tsp, publicKey, { ...normal, ...changes });

  const untrustedRoot = await createRoot(
    profile,
    { organization: 'TRIAL Untrusted Test PKI', commonName: `TRIAL Untrusted Test Root - ${profile.style}` },
    keys.untrustedRoot,
    { notBefore: at(-2 * 365), notAfter: at(10 * 365) },
  );
  const untrustedCa = await issueCa(
    profile,
    untrustedRoot,
    { organization: 'TRIAL Untrusted Test PKI', commonName: `TRIAL Untrusted Test Issuing CA - ${profile.style}` },
    keys.untrustedCa,
    0,
    { notBefore: at(-365), notAfter: at(8 * 365) },
  );

  const [expired, notYetValid, wrongOin, noClientAuth, weakKey, untrusted] = await Promise.all([
    fromTsp(client.keys.publicKey, { validity: { notBefore: at(-400), notAfter: at(-35) } }),
    fromTsp(client.keys.publicKey, { validity: { notBefore: at(30), notAfter: at(395) } }),
    fromTsp(client.keys.publicKey, { subject: { ...client.subject, oin: otherOin(client.subject.oin) } }),
    fromTsp(client.keys.publicKey, { extendedKeyUsages: ['serverAuth'] }),
    fromTsp(keys.weak.publicKey, {}),
    issueLeaf(profile, untrustedCa, client.keys.publicKey, normal),
  ]);

  const intermediates: x509.X509Certificate[] = [tsp.cert, domain.cert];
  const variant = (name: BrokenName, certs: x509.X509Certificate[], key: KeyPair) => ({
    cert: write(dir, `broken/${name}/client.crt`, pemOf(...certs)),
    key: writeKey(dir, `broken/${name}/client.key`, pkcs8Pem(key)),
  });

  return {
    expired: variant('expired', [expired, ...intermediates], client.keys),
    notYetValid: variant('notYetValid', [notYetValid, ...intermediates], client.keys),
    wrongOin: variant('wrongOin', [wrongOin, ...intermediates], client.keys),
    noClientAuth: variant('noClientAuth', [noClientAuth, ...intermediates], client.keys),
    keyMismatch: variant('keyMismatch', [client.cert, ...intermediates], keys.other),
    // The TSP CA is left out: nothing links the leaf to the domain CA, so no chain to the root.
    missingIntermediate: variant('missingIntermediate', [client.cert, domain.cert], client.keys),
    weakKey: variant('weakKey', [weakKey, ...intermediates], keys.weak),
    // Complete, root included, but to a root that is not in root.pem.
    untrustedRoot: variant('untrustedRoot', [untrusted, untrustedCa.cert, untrustedRoot.cert], client.keys),
  };
}
