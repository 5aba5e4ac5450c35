/**
 * PKCS#12 files (.p12/.pfx) that both node-forge and OpenSSL 3 (and so Node's TLS) can read.
 *
 * Built here rather than with forge.pkcs12.toPkcs12Asn1, because forge re-encodes certificates from
 * their parsed fields, which can break a G4 certificate's RSASSA-PSS signature and offers only a SHA-1 MAC. Two encryption schemes:
 * - 'aes256': what OpenSSL 3 writes by default: PBES2 (PBKDF2 with HMAC-SHA-256, AES-256-CBC) for the
 *   certificates and the key, HMAC-SHA-256 for the integrity MAC;
 * - '3des': the older scheme many Windows and Java tools still write: pbeWithSHAAnd3-KeyTripleDES-CBC
 *   and an HMAC-SHA-1 MAC. Not RC2-40, which OpenSSL 3 only reads with its legacy provider.
 */
import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { pkcs12Kdf } from '../../src/certs/pkcs12-kdf.js';
import {
  encodeBmpString as bmpString,
  encodeExplicit as explicit,
  encodeImplicitPrimitive as implicitPrimitive,
  encodeNull as nullValue,
  encodeOctetString as octetString,
  encodeOid as oid,
  encodeSequence as sequence,
  encodeSet as set,
  encodeSmallInteger as integer,
} from '../../src/certs/der.js';

export type Pkcs12Encryption = 'aes256' | '3des';

export interface Pkcs12Input {
  /** The private key as unencrypted PKCS#8 DER. */
  privateKeyPkcs8: Uint8Array;
  /** The certificate that belongs to the key, as DER. */
  certificate: Uint8Array;
  /** Issuer certificates, as DER, nearest first. */
  chain: Uint8Array[];
  passphrase: string;
  friendlyName: string;
  encryption?: Pkcs12Encryption;
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  pkcs8ShroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSha256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  pbeWithSha1And3DesCbc: '1.2.840.113549.1.12.1.3',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
};

// OpenSSL's default iteration count for PKCS#12: cheap enough for tests, the usual value in the wild.
const ITERATIONS = 2048;

export function buildPkcs12(input: Pkcs12Input): Buffer {
  const encryption = input.encryption ?? 'aes256';
  const password = input.passphrase;
  const encrypt = encryption === 'aes256' ? pbes2Encrypt : pbeSha1TripleDesEncrypt;

  // OpenSSL marks the pair with the SHA-1 of the certificate; forge and Windows use it to match them.
  const localKeyId = createHash('sha1').update(input.certificate).digest();
  const pairAttributes = set(
    attribute(OID.friendlyName, bmpString(input.friendlyName)),
    attribute(OID.localKeyId, octetString(localKeyId)),
  );

  const certBags = [
    safeBag(OID.certBag, certBag(input.certificate), pairAttributes),
    ...input.chain.map((der) => safeBag(OID.certBag, certBag(der))),
  ];
  const certificates = encrypt(sequence(...certBags), password);
  const certificatesInfo = sequence(
    oid(OID.encryptedData),
    explicit(
      0,
      sequence(
        integer(0),
        sequence(oid(OID.data), certificates.algorithm, implicitPrimitive(0, certificates.ciphertext)),
      ),
    ),
  );

  const shroudedKey = encrypt(input.privateKeyPkcs8, password);
  const keyBag = safeBag(
    OID.pkcs8ShroudedKeyBag,
    sequence(shroudedKey.algorithm, octetString(shroudedKey.ciphertext)),
    pairAttributes,
  );
  const keyInfo = sequence(oid(OID.data), explicit(0, octetString(sequence(keyBag))));

  const authenticatedSafe = sequence(certificatesInfo, keyInfo);
  return sequence(
    integer(3),
    sequence(oid(OID.data), explicit(0, octetString(authenticatedSafe))),
    macData(authenticatedSafe, password, encryption === 'aes256' ? 'sha256' : 'sha1'),
  );
}

function attribute(type: string, value: Buffer): Buffer {
  return sequence(oid(type), set(value));
}

function safeBag(bagId: string, value: Buffer, attributes?: Buffer): Buffer {
  return attributes ? sequence(oid(bagId), explicit(0, value), attributes) : sequence(oid(bagId), explicit(0, value));
}

function certBag(certificate: Uint8Array): Buffer {
  return sequence(oid(OID.x509Certificate), explicit(0, octetString(certificate)));
}

interface Encrypted {
  algorithm: Buffer;
  ciphertext: Buffer;
}

/** PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC; the password goes in as UTF-8, as OpenSSL does. */
function pbes2Encrypt(plaintext: Uint8Array, password: string): Encrypted {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const algorithm = sequence(
    oid(OID.pbes2),
    sequence(
      sequence(
        oid(OID.pbkdf2),
        sequence(octetString(salt), integer(ITERATIONS), sequence(oid(OID.hmacWithSha256), nullValue())),
      ),
      sequence(oid(OID.aes256Cbc), octetString(iv)),
    ),
  );
  return { algorithm, ciphertext };
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC: key and IV from the PKCS#12 key derivation with SHA-1. */
function pbeSha1TripleDesEncrypt(plaintext: Uint8Array, password: string): Encrypted {
  const salt = randomBytes(8);
  const key = pkcs12Kdf(password, salt, 1, ITERATIONS, 24, 'sha1');
  const iv = pkcs12Kdf(password, salt, 2, ITERATIONS, 8, 'sha1');
  const cipher = createCipheriv('des-ede3-cbc', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const algorithm = sequence(oid(OID.pbeWithSha1And3DesCbc), sequence(octetString(salt), integer(ITERATIONS)));
  return { algorithm, ciphertext };
}

function macData(authenticatedSafe: Buffer, password: string, hash: 'sha1' | 'sha256'): Buffer {
  const salt = randomBytes(hash === 'sha256' ? 16 : 8);
  const keyLength = hash === 'sha256' ? 32 : 20;
  const key = pkcs12Kdf(password, salt, 3, ITERATIONS, keyLength, hash);
  const mac = createHmac(hash, key).update(authenticatedSafe).digest();
  return sequence(
    sequence(sequence(oid(hash === 'sha256' ? OID.sha256 : OID.sha1), nullValue()), octetString(mac)),
    octetString(salt),
    integer(ITERATIONS),
  );
}
