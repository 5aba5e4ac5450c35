/**
 * Which PKIoverheid hierarchy a chain belongs to. ROD and the municipality's certificate chain to a
 * private root that is not in any operating system's trust store, so the administrator configures
 * it; the relay compares what they configured with the thumbprints Logius publishes, and names the
 * hierarchy it sees: G1 ends when its root expires, G4 replaces it.
 */
import type { X509Certificate } from 'node:crypto';
import { OID, attribute, certFields, commonName, sha256Hex } from './x509-fields.js';

export type Hierarchy = 'G1' | 'G4' | 'TRIAL' | 'unknown';

/** The G1 private root's notAfter (date only); after it no G1 chain validates. */
export const G1_ROOT_EXPIRY = '2028-11-13';

export type CaLevel = 'root' | 'domain' | 'tsp';

export interface KnownCa {
  hierarchy: 'G1' | 'G4';
  level: CaLevel;
  name: string;
}

/** SHA-256 of the DER of the published PKIoverheid private-hierarchy CA certificates. */
export const KNOWN_CAS: ReadonlyMap<string, KnownCa> = new Map<string, KnownCa>([
  ['0257ce27b52408e24ee2c0945640b723c5bc66ddbda4ada58c60357604f0e675', { hierarchy: 'G1', level: 'root', name: 'Staat der Nederlanden Private Root CA - G1' }],
  ['2eaaf678e645dc26ea82c016ef3960935659cf81b4c44d9b2d0fb1a142666c98', { hierarchy: 'G1', level: 'domain', name: 'Staat der Nederlanden Private Services CA - G1' }],
  ['b63a82ce98e9fe704dc42b7cb4b63d4bf0646b1d0754f9a4c696a4afb39436bc', { hierarchy: 'G1', level: 'tsp', name: 'DigiCert QuoVadis PKIoverheid Private Services CA - 2023' }],
  ['bfe8f634772b0ec2cd2a41a17fc7612577d7e24f934073dec89a991b6169687e', { hierarchy: 'G1', level: 'tsp', name: 'Digidentity BV PKIoverheid Private Services CA - G1' }],
  ['bdb68500aaae2563c57b4525784360436d3e3fd8df974b25a77f132cecc2a49d', { hierarchy: 'G1', level: 'tsp', name: 'KPN PKIoverheid Private Services CA - G1' }],
  ['69df8d18c54503f83dc239c3dcf8115b2a447efc5defca6119d18e988c12276d', { hierarchy: 'G1', level: 'tsp', name: 'QuoVadis PKIoverheid Private Services CA - G1' }],
  ['4411f67d3d7f4f49d34ff8862249de0d6692adc92df0855fb1dd67a169800484', { hierarchy: 'G4', level: 'root', name: 'Staat der Nederlanden - G4 Root Priv G-TLS - 2024' }],
  ['a24f6f2fa192dd96ceeaf8d4c380d8663426f95858956a5adff5cfd36b30554f', { hierarchy: 'G4', level: 'domain', name: 'Staat der Nederlanden - G4 Intm Priv G-TLS SYS - 2024' }],
  ['a3234374ce91c000c929c66daade6c85457d61850e6fb388e349fd710a9bb305', { hierarchy: 'G4', level: 'tsp', name: 'DigiCert - G4 PKIo Priv G-TLS SYS - 2025' }],
  ['fc6b0573c096991e59e886e28e314dfd74d96a8ea3976e197f23c2e5c49acd87', { hierarchy: 'G4', level: 'tsp', name: 'Digidentity - G4 PKIo Priv G-TLS SYS - 2025' }],
  ['2b4ee93832a4b2ca349e86c21caf8f959b106c2d0aa6fd49a983fca00574d1a6', { hierarchy: 'G4', level: 'tsp', name: 'KPN - G4 PKIo Priv G-TLS SYS - 2025' }],
]);

export function knownCa(cert: X509Certificate): KnownCa | undefined {
  return KNOWN_CAS.get(sha256Hex(cert));
}

function saysTrial(cert: X509Certificate): boolean {
  const subject = certFields(cert).subject;
  const names = [attribute(subject, OID.commonName), attribute(subject, OID.organization)];
  return names.some((n) => n !== undefined && /\bTRIAL\b/i.test(n));
}

/**
 * The hierarchy of the certificate a chain ends at. Only the published thumbprints make a root
 * known: a certificate that merely copies a PKIoverheid name is not.
 */
export function classifyRoot(root: X509Certificate): { hierarchy: Hierarchy; name: string; known: boolean } {
  const known = knownCa(root);
  if (known) return { hierarchy: known.hierarchy, name: known.name, known: true };
  return { hierarchy: saysTrial(root) ? 'TRIAL' : 'unknown', name: commonName(root), known: false };
}

/**
 * The PKIoverheid generation a chain's names point to, for chains that no thumbprint identifies (TRIAL
 * and test hierarchies model themselves on G1 or G4): by the published thumbprints first, then by
 * "G1"/"G4" in the CA names.
 */
export function generationOf(chain: X509Certificate[]): 'G1' | 'G4' | undefined {
  for (const cert of chain) {
    const known = knownCa(cert);
    if (known) return known.hierarchy;
  }
  const top = chain[chain.length - 1];
  const caNames = (top ? [top, ...chain.slice(1, -1)] : []).map(commonName);
  for (const name of caNames) {
    if (/\bG1\b/.test(name)) return 'G1';
    if (/\bG4\b/.test(name)) return 'G4';
  }
  return undefined;
}
