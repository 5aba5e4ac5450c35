/**
 * What a test hierarchy of each PKIoverheid generation looks like: key sizes, signature algorithm and
 * the names of the three CA levels. Modelled on the real private hierarchies, but every name says
 * TRIAL so nobody mistakes a test certificate for a real one.
 */

export type PkiStyle = 'G4' | 'G1';

/** A WebCrypto algorithm for key generation, and the matching one for signing with that key. */
export interface SignatureProfile {
  keyAlgorithm: RsaHashedKeyGenParamsLike;
  signingAlgorithm: { name: string; saltLength?: number };
}

/** RsaHashedKeyGenParams without depending on DOM typings. */
export interface RsaHashedKeyGenParamsLike {
  name: 'RSA-PSS' | 'RSASSA-PKCS1-v1_5';
  hash: 'SHA-256' | 'SHA-512';
  modulusLength: number;
  publicExponent: Uint8Array;
}

export interface CaName {
  organization: string;
  commonName: string;
}

export interface StyleProfile {
  style: PkiStyle;
  caKeyBits: number;
  leafKeyBits: number;
  signature: SignatureProfile;
  root: CaName;
  domain: CaName;
  tsp: CaName;
}

const F4 = new Uint8Array([1, 0, 1]);

// G4 signs every certificate, CA and leaf, with RSASSA-PSS; the salt length equals the SHA-512 output
// (64 bytes), as in the G4 certificate profiles. G1 used PKCS#1 v1.5 with SHA-256.
const pssSha512: SignatureProfile = {
  keyAlgorithm: { name: 'RSA-PSS', hash: 'SHA-512', modulusLength: 4096, publicExponent: F4 },
  signingAlgorithm: { name: 'RSA-PSS', saltLength: 64 },
};

const pkcs1Sha256: SignatureProfile = {
  keyAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', modulusLength: 4096, publicExponent: F4 },
  signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
};

export const styleProfiles: Record<PkiStyle, StyleProfile> = {
  G4: {
    style: 'G4',
    caKeyBits: 4096,
    leafKeyBits: 3072,
    signature: pssSha512,
    root: { organization: 'TRIAL Staat der Nederlanden', commonName: 'TRIAL PKIoverheid - G4 Root Priv G-TLS - 2024' },
    domain: {
      organization: 'TRIAL Staat der Nederlanden',
      commonName: 'TRIAL PKIoverheid - G4 Intm Priv G-TLS SYS - 2024',
    },
    tsp: { organization: 'TRIAL Verzuim Test TSP', commonName: 'TRIAL Verzuim Test TSP - G4 PKIo Priv G-TLS SYS - 2025' },
  },
  G1: {
    style: 'G1',
    caKeyBits: 4096,
    leafKeyBits: 2048,
    signature: pkcs1Sha256,
    root: { organization: 'TRIAL Staat der Nederlanden', commonName: 'TRIAL Staat der Nederlanden Private Root CA - G1' },
    domain: {
      organization: 'TRIAL Staat der Nederlanden',
      commonName: 'TRIAL Staat der Nederlanden Private Services CA - G1',
    },
    tsp: {
      organization: 'TRIAL Verzuim Test TSP',
      commonName: 'TRIAL Verzuim Test TSP PKIoverheid Private Services CA - G1',
    },
  },
};

/** Key sizes that differ from a style's real ones. */
export interface KeyBits {
  /** The root, domain and TSP CA keys. */
  ca?: number;
  /** The client and server keys (and the broken variants' extra keys). */
  leaf?: number;
}

/**
 * The profile with other key sizes. Tests whose subject is not the key size use RSA 2048 throughout
 * (TEST_KEY_BITS): an RSA 4096 key takes seconds to generate, a 2048 one a fraction of that.
 */
export function withKeyBits(profile: StyleProfile, bits: KeyBits = {}): StyleProfile {
  return { ...profile, caKeyBits: bits.ca ?? profile.caKeyBits, leafKeyBits: bits.leaf ?? profile.leafKeyBits };
}

/** Small but still acceptable keys (the relay refuses leaves below RSA 2048), for fast test PKIs. */
export const TEST_KEY_BITS: Required<KeyBits> = { ca: 2048, leaf: 2048 };

/** Key generation parameters for a key of `bits` that will sign with this style's algorithm. */
export function keyAlgorithmFor(profile: StyleProfile, bits: number): RsaHashedKeyGenParamsLike {
  return { ...profile.signature.keyAlgorithm, modulusLength: bits };
}
