/**
 * Keys for the WS-Security signature. Edukoppeling signs RSA-SHA256 with
 * PKCS#1 v1.5 padding, also for a G4 certificate whose CA signs with
 * RSASSA-PSS (rule 6: RSA-PSS is not accepted in the message signature).
 *
 * Most G4 keys are ordinary RSA keys (rsaEncryption) and need nothing. A key
 * or certificate whose algorithm identifier is id-RSASSA-PSS, though, is an
 * 'rsa-pss' KeyObject to Node/OpenSSL, which then refuses PKCS#1 v1.5 padding
 * ("illegal or unsupported padding mode") and cannot be exported as PKCS#1 or
 * JWK. The RSA numbers are the same either way: PKCS#8 and SPKI wrap a plain
 * RSAPrivateKey / RSAPublicKey, only the algorithm identifier differs. So the
 * inner PKCS#1 structure is cut out of the DER (no re-encoding) and imported
 * as an 'rsa' key: same key material, PKCS#1 v1.5 allowed.
 */
import { constants, createPrivateKey, createPublicKey, sign, verify, type KeyObject, type X509Certificate } from 'node:crypto';
import { children, expectTag, octets, readSingle, TAG } from './der.js';

/** The private key as an 'rsa' KeyObject that can sign PKCS#1 v1.5. */
export function pkcs1SigningKey(key: KeyObject | string): KeyObject {
  const object = typeof key === 'string' ? createPrivateKey(key) : key;
  if (object.asymmetricKeyType === 'rsa') return object;
  if (object.asymmetricKeyType !== 'rsa-pss') {
    throw new Error(`the client key is ${String(object.asymmetricKeyType)}; Edukoppeling signs with RSA (RSA-SHA256)`);
  }
  // PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING (RSAPrivateKey) }
  const info = readSingle(object.export({ type: 'pkcs8', format: 'der' }));
  const rsaPrivateKey = octets(expectTag(children(info)[2], TAG.OCTET_STRING, 'PrivateKeyInfo.privateKey'));
  return createPrivateKey({ key: rsaPrivateKey, format: 'der', type: 'pkcs1' });
}

/** The certificate's public key as an 'rsa' KeyObject that verifies PKCS#1 v1.5. */
export function pkcs1VerifyingKey(cert: X509Certificate): KeyObject {
  return pkcs1PublicKey(cert.publicKey);
}

/** A public key as an 'rsa' KeyObject: an 'rsa-pss' SPKI loses its PSS-only algorithm identifier, nothing else. */
export function pkcs1PublicKey(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType === 'rsa') return key;
  if (key.asymmetricKeyType !== 'rsa-pss') {
    throw new Error(`the signing certificate has a ${String(key.asymmetricKeyType)} key; Edukoppeling signs with RSA`);
  }
  // SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier, BIT STRING (RSAPublicKey) }
  const spki = readSingle(key.export({ type: 'spki', format: 'der' }));
  const bits = expectTag(children(spki)[1], TAG.BIT_STRING, 'SubjectPublicKeyInfo.subjectPublicKey');
  return createPublicKey({ key: bits.content.subarray(1), format: 'der', type: 'pkcs1' });
}

/**
 * Whether this key and certificate can make Edukoppeling's message
 * signature: an RSA-SHA256 PKCS#1 v1.5 signature that the certificate's
 * public key verifies. Undefined when they can; else why not.
 */
export function edukoppelingSigningProblem(key: KeyObject, cert: X509Certificate): string | undefined {
  try {
    const probe = Buffer.from('verzuim-relay: can this key sign for Edukoppeling?');
    const signature = sign('sha256', probe, { key: pkcs1SigningKey(key), padding: constants.RSA_PKCS1_PADDING });
    if (!verify('sha256', probe, { key: pkcs1VerifyingKey(cert), padding: constants.RSA_PKCS1_PADDING }, signature)) {
      return 'a signature made with the key does not verify with the certificate';
    }
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
