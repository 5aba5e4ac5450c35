/**
 * Unpacking a PKCS#12 (.p12/.pfx) file: the password-derived MAC, the encrypted bags, the
 * certificates and the private key.
 *
 * The structure is walked here on the original bytes, and the MAC checked with Node; only the
 * ciphers go to node-forge (legacy-pbe.ts). forge's own PKCS#12 reader would hand back re-encoded
 * certificates and refuses EC keys; OpenSSL 3 (Node) refuses the RC2-40 files that older Windows
 * exports still produce.
 */
import { createHmac, createPrivateKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { DerError, TAG, children, expectTag, octets, oid, readTlv, smallInteger, type Tlv } from './der.js';
import { UnsupportedCipher, decryptPbe } from './legacy-pbe.js';
import { pkcs12Kdf, type Pkcs12Hash } from './pkcs12-kdf.js';

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_ENCRYPTED_DATA = '1.2.840.113549.1.7.6';
const OID_KEY_BAG = '1.2.840.113549.1.12.10.1.1';
const OID_SHROUDED_KEY_BAG = '1.2.840.113549.1.12.10.1.2';
const OID_CERT_BAG = '1.2.840.113549.1.12.10.1.3';
const OID_SAFE_CONTENTS_BAG = '1.2.840.113549.1.12.10.1.6';
const OID_X509_CERTIFICATE = '1.2.840.113549.1.9.22.1';
const MAC_DIGESTS: Record<string, { hash: Pkcs12Hash; bytes: number }> = {
  '1.3.14.3.2.26': { hash: 'sha1', bytes: 20 },
  '2.16.840.1.101.3.4.2.1': { hash: 'sha256', bytes: 32 },
  '2.16.840.1.101.3.4.2.2': { hash: 'sha384', bytes: 48 },
  '2.16.840.1.101.3.4.2.3': { hash: 'sha512', bytes: 64 },
};

/** Why a PKCS#12 file could not be unpacked; read.ts turns this into a problem with advice. */
export class Pkcs12Error extends Error {
  constructor(
    readonly reason: 'not-pkcs12' | 'bad-passphrase' | 'unsupported',
    message: string,
  ) {
    super(message);
    this.name = 'Pkcs12Error';
  }
}

export interface Pkcs12Contents {
  /** DER of every certificate, in file order. */
  certificates: Buffer[];
  keys: KeyObject[];
}

/** True when the bytes look like a PFX: SEQUENCE { INTEGER 3, ContentInfo(data) … }. */
export function isPkcs12(der: Buffer): boolean {
  try {
    const [version, authSafe] = children(readTlv(der, 0));
    if (!version || version.tag !== TAG.INTEGER || smallInteger(version) !== 3 || !authSafe) return false;
    const [type] = children(authSafe);
    return type !== undefined && type.tag === TAG.OID && oid(type) === OID_DATA;
  } catch {
    return false;
  }
}

/**
 * Unpacks the file. An empty or absent passphrase is tried both as the empty password and as no
 * password, because tools disagree on how to encode "none".
 */
export function unpackPkcs12(der: Buffer, passphrase: string | undefined): Pkcs12Contents {
  if (!isPkcs12(der)) throw new Pkcs12Error('not-pkcs12', 'not a PKCS#12 file');
  const [, authSafeInfo, macData] = children(readTlv(der, 0));
  const [, explicit] = children(authSafeInfo!);
  const authSafe = octets(children(expectTag(explicit, 0xa0, 'PKCS#12 authSafe'))[0]!);

  const candidates: (string | null)[] = passphrase ? [passphrase] : ['', null];
  let password: string | null | undefined;
  if (macData) {
    password = candidates.find((p) => macMatches(macData, authSafe, p));
    if (password === undefined) throw new Pkcs12Error('bad-passphrase', 'the MAC does not match: wrong passphrase');
  }
  const tryPasswords = password === undefined ? candidates : [password];
  let lastError: unknown;
  for (const p of tryPasswords) {
    try {
      return readAuthenticatedSafe(authSafe, p, macData !== undefined);
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}

function macMatches(macData: Tlv, authSafe: Buffer, password: string | null): boolean {
  const [digestInfo, saltTlv, iterTlv] = children(macData);
  const [algorithm, digest] = children(digestInfo!);
  const [algOid] = children(algorithm!);
  const hash = MAC_DIGESTS[oid(algOid!)];
  if (!hash) throw new Pkcs12Error('unsupported', `the MAC uses an unsupported digest (${oid(algOid!)})`);
  const iterations = iterTlv ? smallInteger(iterTlv) : 1;
  const key = pkcs12Kdf(password, octets(saltTlv!), 3, iterations, hash.bytes, hash.hash);
  const mac = createHmac(hash.hash, key).update(authSafe).digest();
  const expected = octets(digest!);
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}

function readAuthenticatedSafe(authSafe: Buffer, password: string | null, macVerified: boolean): Pkcs12Contents {
  const out: Pkcs12Contents = { certificates: [], keys: [] };
  for (const contentInfo of children(readTlv(authSafe, 0))) {
    const [typeTlv, explicit] = children(contentInfo);
    const type = oid(typeTlv!);
    const inner = explicit ? children(explicit)[0] : undefined;
    if (!inner) continue;
    if (type === OID_DATA) {
      readSafeContents(octets(inner), password, macVerified, out);
    } else if (type === OID_ENCRYPTED_DATA) {
      readSafeContents(decryptEncryptedData(inner, password, macVerified), password, macVerified, out);
    } else {
      throw new Pkcs12Error('unsupported', `public-key protected PKCS#12 content (${type}) is not supported`);
    }
  }
  return out;
}

function decryptEncryptedData(encryptedData: Tlv, password: string | null, macVerified: boolean): Buffer {
  const [, encryptedContentInfo] = children(encryptedData);
  const [, algorithm, content] = children(expectTag(encryptedContentInfo, TAG.SEQUENCE, 'EncryptedContentInfo'));
  if (!algorithm || !content) throw new DerError('EncryptedContentInfo without content');
  // [0] IMPLICIT OCTET STRING: primitive (0x80) or, in BER, constructed chunks (0xa0).
  const ciphertext = content.constructed ? Buffer.concat(children(content).map(octets)) : content.content;
  return decrypt(algorithm, ciphertext, password, macVerified);
}

function decrypt(algorithm: Tlv, ciphertext: Buffer, password: string | null, macVerified: boolean): Buffer {
  const [algOidTlv, params] = children(algorithm);
  let plain: Buffer | undefined;
  try {
    plain = decryptPbe(oid(algOidTlv!), params!.bytes, ciphertext, password);
  } catch (err) {
    if (err instanceof UnsupportedCipher) throw new Pkcs12Error('unsupported', err.message);
    throw err;
  }
  if (plain) return plain;
  // With a matching MAC the password is right, so a failing decryption is the file's fault.
  throw macVerified
    ? new Pkcs12Error('unsupported', 'decryption failed although the MAC matched')
    : new Pkcs12Error('bad-passphrase', 'decryption failed: wrong passphrase');
}

function readSafeContents(bytes: Buffer, password: string | null, macVerified: boolean, out: Pkcs12Contents): void {
  for (const bag of children(readTlv(bytes, 0))) {
    const [idTlv, explicit] = children(bag);
    const bagId = oid(idTlv!);
    const value = explicit ? children(explicit)[0] : undefined;
    if (!value) continue;
    switch (bagId) {
      case OID_CERT_BAG: {
        const [certId, certExplicit] = children(value);
        if (oid(certId!) !== OID_X509_CERTIFICATE || !certExplicit) break; // SDSI certificates: not ours
        out.certificates.push(Buffer.from(octets(children(certExplicit)[0]!)));
        break;
      }
      case OID_KEY_BAG:
        out.keys.push(createPrivateKey({ key: Buffer.from(value.bytes), format: 'der', type: 'pkcs8' }));
        break;
      case OID_SHROUDED_KEY_BAG:
        out.keys.push(decryptShroudedKey(value, password, macVerified));
        break;
      case OID_SAFE_CONTENTS_BAG:
        readSafeContents(Buffer.from(value.bytes), password, macVerified, out);
        break;
      default:
        break; // CRL and secret bags carry nothing the relay uses
    }
  }
}

function decryptShroudedKey(encryptedKeyInfo: Tlv, password: string | null, macVerified: boolean): KeyObject {
  // OpenSSL (through Node) knows PBES2 and the PKCS#12 3DES scheme; forge also knows RC2.
  try {
    return createPrivateKey({ key: Buffer.from(encryptedKeyInfo.bytes), format: 'der', type: 'pkcs8', passphrase: password ?? '' });
  } catch {
    const [algorithm, data] = children(encryptedKeyInfo);
    const plain = decrypt(algorithm!, octets(data!), password, macVerified);
    try {
      return createPrivateKey({ key: plain, format: 'der', type: 'pkcs8' });
    } catch (err) {
      throw macVerified
        ? new Pkcs12Error('unsupported', `the private key could not be read (${(err as Error).message})`)
        : new Pkcs12Error('bad-passphrase', 'the private key could not be decrypted: wrong passphrase');
    }
  }
}
