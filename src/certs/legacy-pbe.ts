/**
 * node-forge, for one thing only: the password-based ciphers of PKCS#12 files. Older Windows and
 * Java exports still encrypt with RC2-40 or 3DES under the PKCS#12 key derivation, which OpenSSL 3
 * (and so Node) refuses without its legacy provider; forge also covers PBES2, so that one code path
 * reads every bag. Everything else about PKCS#12 is done on the original bytes in pkcs12.ts.
 */
import { createRequire } from 'node:module';
import type forge from 'node-forge';

// Loaded on first use: only an encrypted PKCS#12 file needs it, and node-forge is some 10 MB of code
// (resident) that a relay given PEM files would carry for nothing.
let loaded: typeof forge | undefined;
const lib = (): typeof forge => (loaded ??= createRequire(import.meta.url)('node-forge') as typeof forge);

interface CipherLike {
  update(data: forge.util.ByteBuffer): void;
  finish(): boolean;
  output: forge.util.ByteBuffer;
}
// forge's typings omit the PBE helpers it uses for PKCS#12 itself.
const pbe = () => (lib().pki as unknown as { pbe: { getCipher(oid: string, params: forge.asn1.Asn1, password: string): CipherLike } }).pbe;

const OID_PBES2 = '1.2.840.113549.1.5.13';
const binary = (b: Buffer) => b.toString('binary');

export class UnsupportedCipher extends Error {
  override name = 'UnsupportedCipher';
}

/**
 * Decrypts with the scheme `algorithmOid` and its DER `parameters`. Returns undefined when the
 * padding does not check out, which is how a wrong password shows; throws UnsupportedCipher for a
 * scheme forge does not know.
 */
export function decryptPbe(algorithmOid: string, parameters: Buffer, ciphertext: Buffer, password: string | null): Buffer | undefined {
  // PBES2 derives from the password's UTF-8 bytes; the PKCS#12 PBEs from its BMPString, which forge
  // builds from the JavaScript string itself.
  const pw = algorithmOid === OID_PBES2 ? lib().util.encodeUtf8(password ?? '') : (password ?? '');
  let cipher: CipherLike;
  try {
    cipher = pbe().getCipher(algorithmOid, lib().asn1.fromDer(binary(parameters)), pw);
  } catch (err) {
    throw new UnsupportedCipher(`encryption algorithm ${algorithmOid} is not supported (${(err as Error).message})`);
  }
  cipher.update(lib().util.createBuffer(binary(ciphertext)));
  return cipher.finish() ? Buffer.from(cipher.output.getBytes(), 'binary') : undefined;
}
