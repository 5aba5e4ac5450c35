/**
 * A generator of PKIoverheid-style test hierarchies: a TRIAL root, domain CA and TSP CA, a client
 * certificate for the municipality and a server certificate for ROD, in the style of G4 (RSASSA-PSS
 * everywhere) or G1 (PKCS#1 v1.5). Used by the demo, the tests, and administrators who want to try the
 * relay before their real certificate arrives. Pure Node: no openssl child processes.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { styleProfiles, withKeyBits, type KeyBits, type PkiStyle, type StyleProfile } from './profiles.js';
import {
  createRoot,
  generateKeyPair,
  issueCa,
  issueLeaf,
  type Issuer,
  type KeyPair,
  type LeafSubject,
  type Validity,
} from './issue.js';
import { buildPkcs12 } from './pkcs12.js';
import { derOf, pemOf, pkcs8Der, pkcs8Pem, write, writeKey } from './files.js';
import { writeFormats } from './formats.js';
import { generateBrokenKeys, writeBroken } from './broken.js';
import type { GeneratedPki } from './issue.js';

export type { PkiStyle } from './profiles.js';

export interface TestPkiOptions {
  /** Output folder, created if missing. Existing files of the same name are overwritten. */
  dir: string;
  /** Default 'G4'. */
  style?: PkiStyle;
  /** The municipality's OIN, in the client subject serialNumber. Default '00000001002220647000'. */
  clientOin?: string;
  /** Default 'Utrecht'. */
  municipalityName?: string;
  /** DNS names in the server certificate's SAN. Default ['localhost']. */
  serverNames?: string[];
  /** The OIN in the ROD server certificate. Default '00000001800866472000'. */
  serverOin?: string;
  /** For the encrypted key and PKCS#12 files. Default 'test-passphrase'. */
  passphrase?: string;
  /** Reference time for all validity periods. Default now. */
  now?: Date;
  /** Also write the broken/ variants and the extra formats. Default true. */
  variants?: boolean;
  /** Other key sizes than the style's real ones (G4: CA 4096, leaf 3072; G1: CA 4096, leaf 2048). */
  keyBits?: KeyBits;
}

export interface TestPkiFiles {
  dir: string;
  /** root.pem: the root only (what tls.trustAnchors points at). */
  trustAnchors: string;
  /** intermediates.pem: TSP CA and domain CA. */
  intermediates: string;
  /** client.crt: client leaf followed by the intermediates, PEM. */
  clientCert: string;
  /** client.key: PKCS#8 PEM, unencrypted. */
  clientKey: string;
  /** client.p12: leaf, chain and key, protected with the passphrase. */
  clientPfx: string;
  /** tsp.key: the TSP CA's private key (PKCS#8 PEM), so a test can issue on a CSR (issueOnCsr). */
  tspKey: string;
  /** server.crt: ROD server leaf followed by the intermediates, PEM. */
  serverCert: string;
  serverKey: string;
  passphrase: string;
  style: PkiStyle;
  /** Every extra file, keyed by a stable name; absolute paths. Empty when variants is false. */
  formats: Record<string, string>;
  /** Broken client certificates, keyed by what is wrong; absolute paths. Empty when variants is false. */
  broken: Record<string, { cert: string; key: string }>;
}

const DAY = 24 * 60 * 60 * 1000;
const YEAR = 365 * DAY;

const DEFAULTS = {
  style: 'G4' as PkiStyle,
  clientOin: '00000001002220647000',
  municipalityName: 'Utrecht',
  serverNames: ['localhost'],
  serverOin: '00000001800866472000',
  passphrase: 'test-passphrase',
};

export async function generateTestPki(options: TestPkiOptions): Promise<TestPkiFiles> {
  const style = options.style ?? DEFAULTS.style;
  const styleProfile = styleProfiles[style];
  if (!styleProfile) throw new Error(`Unknown test PKI style '${String(style)}': use 'G4' or 'G1'.`);
  const profile = withKeyBits(styleProfile, options.keyBits);
  const clientOin = checkOin(options.clientOin ?? DEFAULTS.clientOin, 'clientOin');
  const serverOin = checkOin(options.serverOin ?? DEFAULTS.serverOin, 'serverOin');
  const municipalityName = (options.municipalityName ?? DEFAULTS.municipalityName).trim();
  if (!municipalityName) throw new Error('municipalityName is empty: give the name of the municipality.');
  const serverNames = checkServerNames(options.serverNames ?? DEFAULTS.serverNames);
  const passphrase = options.passphrase ?? DEFAULTS.passphrase;
  if (!passphrase) throw new Error('passphrase is empty: the encrypted key and PKCS#12 files need one.');
  // Certificates count in whole seconds; rounding here keeps "now - 1 day" exact in the output.
  const now = new Date(Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000);
  const variants = options.variants !== false;

  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });

  // RSA key generation dominates the run time; WebCrypto generates on the thread pool, so start all
  // of them at once, those for the broken variants included.
  const brokenKeys = variants ? generateBrokenKeys(profile) : undefined;
  brokenKeys?.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
  const [rootKeys, domainKeys, tspKeys, clientKeys, serverKeys] = await Promise.all([
    generateKeyPair(profile, profile.caKeyBits),
    generateKeyPair(profile, profile.caKeyBits),
    generateKeyPair(profile, profile.caKeyBits),
    generateKeyPair(profile, profile.leafKeyBits),
    generateKeyPair(profile, profile.leafKeyBits),
  ]);

  const root = await createRoot(profile, profile.root, rootKeys, around(now, 2 * YEAR, 15 * YEAR));
  const domain = await issueCa(profile, root, profile.domain, domainKeys, 1, around(now, 2 * YEAR - DAY, 12 * YEAR));
  const tsp = await issueCa(profile, domain, profile.tsp, tspKeys, 0, around(now, YEAR, 8 * YEAR));

  const clientHost = `verzuim-relay.${slug(municipalityName)}.example`;
  const clientSubject: LeafSubject = {
    organization: `TRIAL Gemeente ${municipalityName}`,
    commonName: clientHost,
    organizationIdentifier: organizationIdentifierFor(clientOin),
    oin: clientOin,
  };
  const leafValidity = around(now, DAY, 365 * DAY);
  const [clientCert, serverCert] = await Promise.all([
    issueLeaf(profile, tsp, clientKeys.publicKey, {
      subject: clientSubject,
      dnsNames: [clientHost],
      validity: leafValidity,
    }),
    issueLeaf(profile, tsp, serverKeys.publicKey, {
      subject: {
        organization: 'TRIAL Dienst Uitvoering Onderwijs',
        commonName: serverNames[0] as string,
        organizationIdentifier: organizationIdentifierFor(serverOin),
        oin: serverOin,
      },
      dnsNames: serverNames,
      validity: leafValidity,
    }),
  ]);

  const pki: GeneratedPki = {
    profile,
    now,
    root,
    domain,
    tsp,
    client: { cert: clientCert, keys: clientKeys, subject: clientSubject, dnsNames: [clientHost] },
    server: { cert: serverCert, keys: serverKeys },
  };

  // Chain files list the leaf first, then upwards: TSP CA, domain CA. The root stays out of them; it
  // belongs in the trust anchors only.
  const intermediatesPem = pemOf(tsp.cert, domain.cert);
  const files: TestPkiFiles = {
    dir,
    trustAnchors: write(dir, 'root.pem', pemOf(root.cert)),
    intermediates: write(dir, 'intermediates.pem', intermediatesPem),
    clientCert: write(dir, 'client.crt', pemOf(clientCert) + intermediatesPem),
    clientKey: writeKey(dir, 'client.key', pkcs8Pem(clientKeys)),
    clientPfx: writeKey(
      dir,
      'client.p12',
      buildPkcs12({
        privateKeyPkcs8: pkcs8Der(clientKeys),
        certificate: derOf(clientCert),
        chain: [derOf(tsp.cert), derOf(domain.cert)],
        passphrase,
        friendlyName: clientSubject.commonName,
      }),
    ),
    tspKey: writeKey(dir, 'tsp.key', pkcs8Pem(tsp.keys)),
    serverCert: write(dir, 'server.crt', pemOf(serverCert) + intermediatesPem),
    serverKey: writeKey(dir, 'server.key', pkcs8Pem(serverKeys)),
    passphrase,
    style,
    formats: {},
    broken: {},
  };
  if (brokenKeys) {
    files.formats = writeFormats(pki, dir, passphrase, files.clientPfx);
    files.broken = await writeBroken(pki, await brokenKeys, dir);
  }
  return files;
}

function around(now: Date, before: number, after: number): Validity {
  return { notBefore: new Date(now.getTime() - before), notAfter: new Date(now.getTime() + after) };
}

function checkOin(oin: string, option: string): string {
  if (!/^\d{20}$/.test(oin)) {
    throw new Error(`${option} '${oin}' is not an OIN: expected 20 digits, like 00000001002220647000.`);
  }
  return oin;
}

function checkServerNames(names: string[]): string[] {
  if (names.length === 0) throw new Error('serverNames is empty: give at least one DNS name, like localhost.');
  for (const name of names) {
    if (/^[\d.]+$/.test(name) || name.includes(':')) {
      throw new Error(`serverNames contains '${name}', an IP address: PKIoverheid certificates carry DNS names only.`);
    }
    if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(name)) {
      throw new Error(`serverNames contains '${name}', which is not a DNS name.`);
    }
  }
  return names;
}

/** 'Súdwest-Fryslân' -> 'sudwest-fryslan', for a host name in the client certificate. */
function slug(name: string): string {
  const ascii = name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  return ascii.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'gemeente';
}

/**
 * "NTRNL-" and eight digits taken from the OIN, so each test organisation gets its own stable value.
 * It only looks like a KvK number; it is not looked up anywhere.
 */
function organizationIdentifierFor(oin: string): string {
  return `NTRNL-${oin.slice(9, 17)}`;
}
